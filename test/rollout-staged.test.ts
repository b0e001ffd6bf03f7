// Staged rollouts on the real chain: the cloud's rollout manager publishes one OTA job per gateway
// and stage on a real broker, real agents pull the image and feed simulated devices, which commit
// or roll back after their health check; the manager advances, halts, pauses and aborts on what
// comes back.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBroker, CredentialsStore, type PosteBroker } from '@poste/broker';
import { inProcessBus, openRolloutManager, type RolloutManager } from '@poste/cloud';
import { type RolloutView, RolloutRequestSchema } from '@poste/protocol';
import { pino } from 'pino';
import { waitFor } from './harness/free-port';
import { type Fleet, newKey, signedImage, startFleet } from './rollout-fleet';

const quiet = pino({ level: 'silent' });

describe('staged rollouts through agents to simulated devices', () => {
  let dir: string;
  let broker: PosteBroker;
  let fleet: Fleet;
  let manager: RolloutManager;
  const key = newKey();
  const cleanup: Array<() => Promise<unknown>> = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poste-rollout-'));
    let creds = CredentialsStore.empty();
    const passwords: Record<string, string> = {};
    for (const gw of ['gw-a', 'gw-b']) {
      const r = await creds.withGateway(gw, 'vila');
      creds = r.store;
      passwords[gw] = r.password;
    }
    broker = await createBroker({ credentials: creds, logLevel: 'silent' });
    const port = await broker.listen(0, '127.0.0.1');
    fleet = await startFleet({
      dir,
      mqttUrl: `mqtt://127.0.0.1:${port}`,
      key,
      gateways: [
        { id: 'gw-a', password: passwords['gw-a']!, devices: ['a1', 'a2', 'a3', 'a4'] },
        { id: 'gw-b', password: passwords['gw-b']!, devices: ['b1', 'b2', 'b3', 'b4', 'bad1', 'b5', 'b6'] },
      ],
      unhealthy: ['bad1'],
    });
    manager = await openRolloutManager({ bus: inProcessBus(broker), log: quiet, dir: join(dir, 'rollouts'), tickMs: 50 });
    cleanup.push(
      () => manager.close(),
      () => fleet.close(),
      () => broker.close(),
    );
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    await rm(dir, { recursive: true, force: true });
  });

  const running = (id: string) => fleet.devices.find((d) => d.id === id)!.device.running;
  const final = (id: string) =>
    waitFor(`rollout ${id} finished`, () => ['completed', 'halted', 'aborted'].includes(manager.get(id)!.state), 30_000);

  it('installs on the canary first and advances stage by stage when the canary succeeds', async () => {
    const { image, manifest } = signedImage(key, '1.1.0');
    const targets = [
      { gateway: 'gw-a', device: 'a1' },
      { gateway: 'gw-b', device: 'b1' },
      { gateway: 'gw-a', device: 'a2' },
      { gateway: 'gw-b', device: 'b2' },
      { gateway: 'gw-a', device: 'a3' },
    ];
    const r = await manager.create(
      RolloutRequestSchema.parse({ manifest, image: image.toString('base64'), targets, policy: { canary: 1, stageSize: 2 } }),
      'tess',
    );
    assert.ok(r.ok);
    const id = r.rollout.id;
    assert.deepEqual(
      r.rollout.stages.map((s) => s.targets),
      [1, 2, 2],
    );
    // Watch every intermediate state: no later-stage target moves before the earlier stages committed.
    const seen: RolloutView[] = [];
    const poll = setInterval(() => seen.push(manager.get(id)!), 5);
    await final(id);
    clearInterval(poll);
    const done = manager.get(id)!;
    assert.equal(done.state, 'completed', done.reason);
    assert.deepEqual(done.counts, { total: 5, committed: 5, failed: 0, inProgress: 0, waiting: 0 });
    assert.deepEqual(
      done.stages.map((s) => s.state),
      ['passed', 'passed', 'passed'],
    );
    for (const v of seen) {
      for (const t of v.targets) {
        if (t.outcome === 'waiting') continue;
        const earlier = v.targets.filter((x) => x.stage < t.stage);
        assert.ok(
          earlier.every((x) => x.outcome === 'committed'),
          `${t.device} (stage ${t.stage}) was ${t.outcome} before stage ${t.stage - 1} committed`,
        );
      }
    }
    assert.ok(
      seen.some((v) => v.stage === 1 && v.state === 'running'),
      'stage 1 ran',
    );
    for (const d of ['a1', 'b1', 'a2', 'b2', 'a3']) assert.equal(running(d), '1.1.0', d);
    assert.equal(running('a4'), '1.0.0', 'a device that is no target is untouched');
    // A finished rollout takes no action.
    const again = await manager.act(id, 'pause', 'tess');
    assert.equal(again.ok, false);
  });

  it('stops when the error threshold is crossed: the failing canary rolls back, later stages never start', async () => {
    const { image, manifest } = signedImage(key, '1.2.0');
    const targets = ['b3', 'bad1', 'b4', 'b5'].map((device) => ({ gateway: 'gw-b', device }));
    const r = await manager.create(
      RolloutRequestSchema.parse({
        manifest,
        image: image.toString('base64'),
        targets,
        policy: { canary: 2, errorThreshold: 0.25, successThreshold: 0.5 },
      }),
      'tess',
    );
    assert.ok(r.ok);
    await final(r.rollout.id);
    // The canary that was still installing when the rollout halted finishes; its outcome is recorded.
    await waitFor('b3 final', () => manager.get(r.rollout.id)!.targets[0]!.outcome === 'committed', 10_000);
    const v = manager.get(r.rollout.id)!;
    assert.equal(v.state, 'halted');
    assert.match(v.reason ?? '', /error threshold crossed: 1 of 2 started targets failed/);
    const outcome = (d: string) => v.targets.find((t) => t.device === d)!.outcome;
    assert.equal(outcome('bad1'), 'rolledBack');
    assert.equal(running('bad1'), '1.0.0', 'the device that failed its health check runs its old slot again');
    assert.equal(outcome('b4'), 'skipped');
    assert.equal(outcome('b5'), 'skipped');
    assert.deepEqual(
      v.stages.map((s) => s.state),
      ['failed', 'stopped'],
    );
    assert.equal(running('b4'), '1.0.0', 'a skipped target never got the image');
    assert.equal(running('b5'), '1.0.0');
  });

  it('pause serves no chunk until resume; abort clears the job and skips waiting targets', async () => {
    const { image, manifest } = signedImage(key, '1.3.0', 10_000);
    const r = await manager.create(
      RolloutRequestSchema.parse({
        manifest,
        image: image.toString('base64'),
        targets: [
          { gateway: 'gw-a', device: 'a4' },
          { gateway: 'gw-b', device: 'b6' },
        ],
        policy: { canary: 1 },
      }),
      'tess',
    );
    assert.ok(r.ok);
    const id = r.rollout.id;
    const paused = await manager.act(id, 'pause', 'tess');
    assert.ok(paused.ok);
    assert.equal(paused.rollout.state, 'paused');
    const servedAtPause = manager.ota.stats().chunksServed;
    await new Promise((res) => setTimeout(res, 1_000)); // the agent asks again every 300 ms
    assert.ok(manager.ota.stats().chunksServed <= servedAtPause + 1, 'no chunk served while paused (one may have been in flight)');
    assert.equal((await manager.act(id, 'pause', 'tess')).ok, false, 'pausing a paused rollout is refused');
    assert.ok((await manager.act(id, 'resume', 'tess')).ok);
    await final(id);
    assert.equal(manager.get(id)!.state, 'completed');
    assert.equal(running('a4'), '1.3.0');

    const next = signedImage(key, '1.4.0', 10_000);
    const r2 = await manager.create(
      RolloutRequestSchema.parse({
        manifest: next.manifest,
        image: next.image.toString('base64'),
        targets: [
          { gateway: 'gw-a', device: 'a4' },
          { gateway: 'gw-b', device: 'b6' },
        ],
        policy: { canary: 1 },
      }),
      'tess',
    );
    assert.ok(r2.ok);
    const conflict = await manager.create(
      RolloutRequestSchema.parse({
        manifest: next.manifest,
        image: next.image.toString('base64'),
        targets: [{ gateway: 'gw-b', device: 'b6' }],
        policy: { canary: 1 },
      }),
      'tess',
    );
    assert.deepEqual(conflict.ok ? 'ok' : conflict.status, 409, 'a target in an unfinished rollout is refused');
    const aborted = await manager.act(r2.rollout.id, 'abort', 'tess');
    assert.ok(aborted.ok);
    assert.equal(aborted.rollout.state, 'aborted');
    assert.equal(aborted.rollout.reason, 'aborted by tess');
    assert.equal(aborted.rollout.targets.find((t) => t.device === 'b6')!.outcome, 'skipped');
    assert.equal((await manager.act(r2.rollout.id, 'resume', 'tess')).ok, false, 'an aborted rollout stays aborted');
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(running('b6'), '1.3.0', 'the skipped target never got 1.4.0');
  });

  it('refuses an image that does not match its manifest', async () => {
    const { image, manifest } = signedImage(key, '1.5.0');
    image.writeUInt8(image.readUInt8(30) ^ 1, 30);
    const r = await manager.create(
      RolloutRequestSchema.parse({
        manifest,
        image: image.toString('base64'),
        targets: [{ gateway: 'gw-a', device: 'a1' }],
        policy: { canary: 1 },
      }),
      'tess',
    );
    assert.deepEqual(r.ok ? 'ok' : [r.status, r.message], [400, 'image sha256 does not match the manifest']);
    const agent = signedImage(key, '1.5.0');
    const self = await manager.create(
      RolloutRequestSchema.parse({
        manifest: agent.manifest,
        image: agent.image.toString('base64'),
        targets: [{ gateway: 'gw-a', device: '$gateway' }],
        policy: { canary: 1 },
      }),
      'tess',
    );
    assert.deepEqual(
      self.ok ? 'ok' : [self.status, self.message],
      [400, 'gw-a/$gateway: a poste-native image goes to devices, not to GATEWAY/$gateway (the agent takes gateway-agent images)'],
      'the agent itself takes only gateway-agent images',
    );
  });
});
