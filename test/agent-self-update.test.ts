// The agent updates itself through a staged rollout, as devices do: the real bundles (agent and
// launcher) run as a supervised process (restarted whenever it exits, as systemd's Restart=always
// does) against a real broker and the cloud's rollout manager. A good bundle is written into the
// inactive slot, the agent restarts into it, passes its health check and commits; a bundle that
// crashes at start is rolled back after its starts run out and the rollout hears `rolledBack`; a
// manifest with a wrong signature, another model, or an unforced downgrade is refused before a
// byte is downloaded.
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBroker, CredentialsStore, type PosteBroker } from '@poste/broker';
import { inProcessBus, openRolloutManager, type RolloutManager } from '@poste/cloud';
import { generateSigningKey, signImage } from '@poste/firmware-bridge';
import { type FirmwareManifest, type RolloutView, RolloutRequestSchema } from '@poste/protocol';
import { pino } from 'pino';
import { waitFor } from './harness/free-port';
import { type Bundles, buildBundles, type Supervised, superviseAgent } from './self-update-rig';

const GW = 'gw-self';
const key = generateSigningKey();
const sign = (image: Buffer, version: string, model = 'debian'): FirmwareManifest =>
  signImage(image, { family: 'gateway-agent', model, version, chunkSize: 65_536 }, key.privateKeyPem);

describe('the agent updates itself (A/B slots, restart, health check, commit or roll back)', () => {
  let dir: string;
  let broker: PosteBroker;
  let manager: RolloutManager;
  let bundles: Bundles;
  let agent: Supervised;
  let realBundle: Buffer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poste-self-update-'));
    bundles = await buildBundles(join(dir, 'build'));
    realBundle = await readFile(bundles.agent);
    const { store, password } = await CredentialsStore.empty().withGateway(GW, 'vila');
    broker = await createBroker({ credentials: store, logLevel: 'silent' });
    const port = await broker.listen(0, '127.0.0.1');
    manager = await openRolloutManager({ bus: inProcessBus(broker), log: pino({ level: 'silent' }), tickMs: 100 });
    agent = await superviseAgent({
      dir: join(dir, 'gw'),
      gatewayId: GW,
      mqttUrl: `mqtt://127.0.0.1:${port}`,
      password,
      trustedKeyPem: key.publicKeyPem,
      model: 'debian',
      bundles,
    });
    await waitFor('slot a seeded and running', () => agent.seeded(), 20_000);
  });
  after(async () => {
    await agent?.stop();
    await manager?.close();
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function rollout(image: Buffer, manifest: FirmwareManifest, force?: { by: string; reason: string }): Promise<RolloutView> {
    const r = await manager.create(
      RolloutRequestSchema.parse({
        manifest,
        image: image.toString('base64'),
        targets: [{ gateway: GW, device: '$gateway' }],
        policy: { canary: 1, deviceTimeoutMs: 60_000 },
        ...(force ? { force } : {}),
      }),
      'tess',
    );
    assert.ok(r.ok, r.ok ? '' : r.message);
    const id = r.rollout.id;
    await waitFor(
      `rollout ${manifest.version} finished`,
      () => ['completed', 'halted'].includes(manager.get(id)?.state ?? ''),
      50_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(manager.get(id)?.targets)}\nagent output:\n${agent.output().slice(-4_000)}`);
    });
    return manager.get(id)!;
  }

  it('a good bundle: downloaded, written into slot b, the agent restarts into it and commits', async () => {
    const startsBefore = agent.starts;
    const v = await rollout(realBundle, sign(realBundle, '0.2.0'));
    assert.equal(v.state, 'completed', JSON.stringify(v.targets));
    assert.deepEqual([v.targets[0]?.outcome, v.targets[0]?.running], ['committed', '0.2.0']);
    const s = agent.state();
    assert.deepEqual([s.active, s.previous, s.slots.b?.version, s.pending], ['b', 'a', '0.2.0', undefined]);
    assert.equal(s.slots.a?.version, '0.1.0', 'the old slot stays, to fall back to');
    assert.equal(agent.starts, startsBefore + 1, 'one restart');
    assert.equal(agent.exits.at(-1), 75, 'the old agent exited for a restart (75)');
  });

  it('a bundle that crashes at start is rolled back after its starts run out, and the rollout hears it', async () => {
    const broken = Buffer.from('process.stderr.write("broken bundle\\n");\nprocess.exit(1);\n');
    const startsBefore = agent.starts;
    const v = await rollout(broken, sign(broken, '0.3.0'));
    assert.equal(v.state, 'halted');
    const t = v.targets[0]!;
    assert.equal(t.outcome, 'rolledBack');
    assert.equal(t.running, '0.2.0');
    assert.match(t.detail ?? '', /0\.3\.0 did not pass its health check in 2 starts \(last exit code 1\); back on 0\.2\.0/);
    const s = agent.state();
    assert.deepEqual([s.active, s.slots.b?.version, s.slots.a, s.pending], ['b', '0.2.0', null, undefined]);
    // 75 (restart into 0.3.0), two crashed trial starts, then 0.2.0 runs again.
    assert.deepEqual(agent.exits.slice(-3), [75, 1, 1]);
    assert.equal(agent.starts, startsBefore + 3);
  });

  it('refuses a wrong signature, another model and an unforced downgrade before downloading', async () => {
    const served = manager.ota.stats().chunksServed;
    const forged = { ...sign(realBundle, '0.4.0'), version: '0.9.0' };
    const wrongModel = sign(realBundle, '0.4.0', 'openwrt');
    const downgrade = sign(realBundle, '0.1.5');
    const outcomes: string[] = [];
    for (const m of [forged, wrongModel, downgrade]) {
      const v = await rollout(realBundle, m);
      outcomes.push(`${v.targets[0]?.outcome}: ${v.targets[0]?.detail}`);
    }
    assert.deepEqual(outcomes, [
      'refused: signature does not match the manifest',
      'refused: image is for model openwrt, this gateway is debian',
      'refused: downgrade from 0.2.0 to 0.1.5 refused (not forced)',
    ]);
    assert.equal(manager.ota.stats().chunksServed, served, 'not one chunk downloaded for a refused bundle');
    assert.equal(agent.state().active, 'b');
  });

  it('a forced downgrade is installed and audited', async () => {
    const v = await rollout(realBundle, sign(realBundle, '0.1.5'), { by: 'tess', reason: 'regression in 0.2.0' });
    assert.deepEqual([v.state, v.targets[0]?.outcome, v.targets[0]?.running], ['completed', 'committed', '0.1.5']);
    const s = agent.state();
    assert.deepEqual(
      s.audit.map((a) => [a.from, a.to, a.by, a.reason]),
      [['0.2.0', '0.1.5', 'tess', 'regression in 0.2.0']],
    );
    assert.equal(s.slots[s.active]?.version, '0.1.5');
  });
});
