// A rollout driven as a technician does — `poste-firmware rollout start|watch|status|pause` against
// poste-cloud's API with a token — survives a restart of the cloud in the middle of its second
// stage: the record on disk brings it back at that stage, the agent resumes its download from the
// last good chunk, and the rollout completes.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addGateway } from '@poste/broker';
import { type Cloud, startCloud } from '@poste/cloud';
import { parseInventory } from '@poste/dashboard-api';
import { main } from '@poste/firmware-bridge/cli';
import { openStore, type TelemetryStore } from '@poste/telemetry-store';
import { pino } from 'pino';
import { waitFor } from './harness/free-port';
import { type Fleet, newKey, signedImage, startFleet } from './rollout-fleet';

const quiet = pino({ level: 'silent' });
const inventory = parseInventory({
  municipalities: [{ id: 'vila', name: 'Vila', timeZone: 'America/Sao_Paulo', tariffBrlPerKwh: 0.8 }],
  gateways: { 'gw-r': 'vila' },
});

async function firmware(args: string[], apiToken: string): Promise<{ code: number; stdout: string; stderr: string; bars: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const bars: string[] = [];
  const progress = {
    start: (label: string) => {
      bars.push(label);
      return { advance: () => {}, done: () => {} };
    },
  };
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, { progress, env: { apiToken } });
  return { code, stdout: out.join('\n'), stderr: err.join('\n'), bars };
}

describe('rollout through the CLI and the API, across a cloud restart', () => {
  let dir: string;
  let store: TelemetryStore;
  let cloud: Cloud;
  let fleet: Fleet;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poste-rollout-cloud-'));
    store = await openStore({ kind: 'embedded', path: join(dir, 't.duckdb') });
  });
  after(async () => {
    await fleet?.close();
    await cloud?.stop();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts with the CLI, resumes after the cloud restarts mid-stage, completes; watch exits 0', async () => {
    const credentialsFile = join(dir, 'creds.json');
    const password = await addGateway(credentialsFile, 'gw-r', 'vila');
    const cloudOpts = { store, credentialsFile, inventory, logger: quiet, dataDir: join(dir, 'cloud') };
    cloud = await startCloud(cloudOpts);
    const token = (await readFile(cloud.adminToken!.file, 'utf8')).trim();
    const key = newKey();
    fleet = await startFleet({
      dir,
      mqttUrl: cloud.mqttUrl,
      key,
      gateways: [{ id: 'gw-r', password, devices: ['r1', 'r2', 'r3'] }],
    });
    const { image, manifest } = signedImage(key, '2.0.0', 10_000);
    await writeFile(join(dir, 'fw.bin'), image);
    await writeFile(join(dir, 'fw.manifest.json'), JSON.stringify(manifest));
    await writeFile(join(dir, 'release.pub'), key.publicKeyPem);
    const api = cloud.dashboardUrl;
    const common = ['--manifest', join(dir, 'fw.manifest.json'), '--trust', join(dir, 'release.pub'), '--api', api];

    // A token the API does not know: the cloud refuses, exit 6.
    const refused = await firmware(['rollout', 'status', 'r-00000000', '--api', api], 'not-a-real-token-at-all');
    assert.equal(refused.code, 6, refused.stderr);
    // The CLI verifies the image before sending it: a tampered copy is exit 1, nothing started.
    await writeFile(join(dir, 'tampered.bin'), Buffer.concat([image.subarray(0, -1), Buffer.from('x')]));
    const tampered = await firmware(
      ['rollout', 'start', join(dir, 'tampered.bin'), ...common, '--target', 'gw-r/r1', '--canary', '1'],
      token,
    );
    assert.equal(tampered.code, 1, tampered.stderr);
    assert.equal(cloud.rollouts.list().length, 0);

    const start = await firmware(
      ['rollout', 'start', join(dir, 'fw.bin'), ...common, '--target', 'gw-r/r1', '--target', 'gw-r/r2', '--target', 'gw-r/r3'].concat([
        '--canary',
        '1',
        '--device-timeout',
        '120',
        '--name',
        'spring release',
      ]),
      token,
    );
    assert.equal(start.code, 0, start.stderr);
    const id = /rollout (r-[0-9a-f]{8}) started: 3 targets in 2 stages/.exec(start.stdout)?.[1];
    assert.ok(id, start.stdout);
    assert.ok(start.bars.includes('uploading'));

    // Stop the cloud while the gateway downloads the second stage's image.
    await waitFor('stage 1 started', () => cloud.rollouts.get(id)!.stage === 1, 20_000);
    const servedAtStage1 = cloud.rollouts.ota.stats().chunksServed;
    await waitFor('stage 1 downloading', () => cloud.rollouts.ota.stats().chunksServed >= servedAtStage1 + 5, 20_000);
    const { mqttPort, httpPort } = cloud;
    await cloud.stop();
    cloud = await startCloud({ ...cloudOpts, mqttPort, httpPort });
    const back = cloud.rollouts.get(id)!;
    assert.equal(back.state, 'running');
    assert.equal(back.stage, 1, 'the restarted cloud is at the stage it stopped in');
    assert.equal(back.targets.find((t) => t.device === 'r1')!.outcome, 'committed');

    const watch = await firmware(['rollout', 'watch', id, '--api', api, '--interval', '0.1'], token);
    assert.equal(watch.code, 0, `${watch.stdout}\n${watch.stderr}`);
    assert.match(watch.stdout, /: completed/);
    assert.match(watch.stdout, /3 committed, 0 failed/);
    assert.deepEqual(watch.bars, [`rollout ${id}`]);
    for (const d of fleet.devices) assert.equal(d.device.running, '2.0.0', d.id);
    // Finished: the record stays, the image is no longer kept. The API shows "completed" as soon as
    // the rollout ends; the manager then clears the retained jobs and only then removes the image.
    assert.ok((await stat(join(dir, 'cloud', 'rollouts', `${id}.json`))).size > 0);
    await waitFor(
      'the finished rollout image to be removed',
      () =>
        stat(join(dir, 'cloud', 'rollouts', `${id}.img`)).then(
          () => false,
          () => true,
        ),
      10_000,
    );
    // The second stage was resumed, not restarted: it fetched fewer chunks after the restart than the image has.
    assert.ok(cloud.rollouts.ota.stats().chunksServed < Math.ceil(manifest.size / manifest.chunkSize), 'download resumed');

    const status = await firmware(['rollout', 'status', id, '--api', api, '--json'], token);
    assert.equal(status.code, 0);
    const parsed = JSON.parse(status.stdout) as { name: string; targets: Array<{ outcome: string }> };
    assert.equal(parsed.name, 'spring release');
    assert.deepEqual(
      parsed.targets.map((t) => t.outcome),
      ['committed', 'committed', 'committed'],
    );
    // The list (without per-target detail) is a viewer's; starting or pausing needs a technician.
    const viewer = (await cloud.api.tokens.create({ name: 'vera', role: 'viewer' })).token;
    const list = await fetch(`${api}/api/v1/rollouts`, { headers: { authorization: `Bearer ${viewer}` } });
    assert.equal(list.status, 200);
    const rows = (await list.json()) as Array<Record<string, unknown>>;
    assert.deepEqual(
      rows.map((r) => [r.id, r.state, 'targets' in r]),
      [[id, 'completed', false]],
    );
    const denied = await firmware(['rollout', 'abort', id, '--api', api], viewer);
    assert.equal(denied.code, 6, 'a viewer token cannot act on a rollout');
    assert.match(denied.stderr, /403.*needs role technician/);
    const late = await firmware(['rollout', 'pause', id, '--api', api], token);
    assert.equal(late.code, 1, 'a completed rollout cannot be paused');
    assert.match(late.stderr, /409.*completed/);
    const help = await firmware(['rollout', '--help'], token);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /rollout start IMAGE/);
  });
});
