// The agent's own update over the chunked transfer, against a chunk server written here so the
// test decides what each answer is: a tampered chunk (bytes that do not match their sha256) is
// dropped and asked for again; the agent process is SIGKILLed in the middle of the download and,
// restarted by its supervisor, asks for exactly the chunk after the last one it had; the new
// bundle then commits. On a second gateway with a short trial: a bundle that hangs is rolled back
// by the launcher's backstop, and the real agent that cannot reach its broker fails its own health
// check and is rolled back; both outcomes reach the cloud.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createBroker, CredentialsStore, type PosteBroker } from '@poste/broker';
import { inProcessBus, type OtaBus } from '@poste/cloud';
import { generateSigningKey, signImage } from '@poste/firmware-bridge';
import { encode, type FirmwareManifest, type OtaStatus, OtaStatusSchema, parseTopic, topic, topicFilter } from '@poste/protocol';
import { freePort, waitFor } from './harness/free-port';
import { type Bundles, buildBundles, type Supervised, superviseAgent } from './self-update-rig';

const key = generateSigningKey();
const sign = (image: Buffer, version: string, chunkSize: number): FirmwareManifest =>
  signImage(image, { family: 'gateway-agent', model: 'debian', version, chunkSize }, key.privateKeyPem);

interface Served {
  gateway: string;
  index: number;
}

/** Answers chunk requests for the jobs it was given; `answer` may hold or tamper with one. */
async function chunkServer(bus: OtaBus) {
  const images = new Map<string, { manifest: FirmwareManifest; image: Buffer }>();
  const requests: Array<Served & { jobId: string }> = [];
  const statuses: Array<OtaStatus & { gateway: string }> = [];
  let answer: (r: Served & { jobId: string }, data: Buffer) => Buffer | null = (_r, data) => data;
  await bus.subscribe(topicFilter('otaStatus'), (t, payload) => {
    const p = parseTopic(t);
    if (p?.kind !== 'otaStatus') return;
    const s = OtaStatusSchema.parse(JSON.parse(payload.toString('utf8')));
    const gateway = p.params.gateway;
    if (s.target !== undefined || s.phase !== 'downloading' || s.next === undefined) {
      statuses.push({ ...s, gateway });
      return;
    }
    const served = images.get(s.jobId);
    if (!served) return;
    const r = { gateway, jobId: s.jobId, index: s.next };
    requests.push(r);
    const size = served.manifest.chunkSize;
    const data = served.image.subarray(r.index * size, (r.index + 1) * size);
    const sent = answer(r, data);
    if (sent === null) return;
    const chunk = {
      v: 1,
      jobId: s.jobId,
      index: r.index,
      data: sent.toString('base64'),
      sha256: createHash('sha256').update(data).digest('hex'),
    };
    void bus.publish(topic('otaChunk', { gateway }), encode(chunk), false);
  });
  return {
    requests,
    statuses,
    setAnswer(f: typeof answer) {
      answer = f;
    },
    async job(gateway: string, jobId: string, image: Buffer, manifest: FirmwareManifest) {
      images.set(jobId, { manifest, image });
      await bus.publish(topic('otaJob', { gateway }), encode({ v: 1, jobId, manifest, targets: ['$gateway'], issuedAt: Date.now() }), true);
    },
    final(gateway: string, jobId: string) {
      return statuses.find(
        (s) => s.gateway === gateway && s.jobId === jobId && ['committed', 'rolledBack', 'refused', 'failed'].includes(s.phase),
      );
    },
  };
}

describe('the agent updates itself over the chunked transfer', () => {
  let dir: string;
  let broker: PosteBroker;
  let bundles: Bundles;
  let real: Buffer;
  let server: Awaited<ReturnType<typeof chunkServer>>;
  let gw1: Supervised;
  let gw2: Supervised;
  let gw2Config: string;
  let mqttUrl: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poste-self-transfer-'));
    bundles = await buildBundles(join(dir, 'build'));
    real = await readFile(bundles.agent);
    let creds = CredentialsStore.empty();
    const passwords: Record<string, string> = {};
    for (const gw of ['gw-1', 'gw-2']) {
      const r = await creds.withGateway(gw, 'vila');
      creds = r.store;
      passwords[gw] = r.password;
    }
    broker = await createBroker({ credentials: creds, logLevel: 'silent' });
    mqttUrl = `mqtt://127.0.0.1:${await broker.listen(0, '127.0.0.1')}`;
    server = await chunkServer(inProcessBus(broker));
    const common = { mqttUrl, trustedKeyPem: key.publicKeyPem, model: 'debian', bundles };
    gw1 = await superviseAgent({ ...common, dir: join(dir, 'gw-1'), gatewayId: 'gw-1', password: passwords['gw-1']!, trialMs: 20_000 });
    // A short trial, so the rollbacks below come quickly.
    gw2 = await superviseAgent({ ...common, dir: join(dir, 'gw-2'), gatewayId: 'gw-2', password: passwords['gw-2']!, trialMs: 3_000 });
    gw2Config = join(dir, 'gw-2', 'agent.json');
    await waitFor('both gateways seeded', () => gw1.seeded() && gw2.seeded(), 20_000);
  });
  after(async () => {
    await gw1?.stop();
    await gw2?.stop();
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('drops a tampered chunk, resumes after the agent is killed mid-download, and commits', async () => {
    const manifest = sign(real, '0.2.0', 16_384);
    let tampered = false;
    let killAt: number | null = null;
    server.setAnswer((r, data) => {
      if (r.gateway !== 'gw-1') return data;
      if (r.index === 3 && !tampered) {
        tampered = true;
        return Buffer.from(data).fill(0x41, 0, 64);
      }
      // Chunk 30 is held back; the agent is killed while it waits for it.
      if (r.index === 30 && killAt === null) {
        killAt = server.requests.length;
        return null;
      }
      return data;
    });
    await server.job('gw-1', 'self-1', real, manifest);
    await waitFor('chunk 30 asked for', () => killAt !== null, 30_000);
    const startsBefore = gw1.starts;
    await gw1.killNow();
    await waitFor('committed', () => server.final('gw-1', 'self-1') !== undefined, 40_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${gw1.output().slice(-4_000)}`);
    });
    const final = server.final('gw-1', 'self-1')!;
    assert.deepEqual([final.phase, final.running], ['committed', '0.2.0'], final.detail);
    const asked = server.requests.filter((r) => r.jobId === 'self-1').map((r) => r.index);
    assert.deepEqual(asked.slice(0, 6), [0, 1, 2, 3, 3, 4], 'the tampered chunk 3 was dropped and asked for again');
    const afterKill = server.requests
      .slice(killAt!)
      .filter((r) => r.jobId === 'self-1')
      .map((r) => r.index);
    assert.equal(afterKill[0], 30, `the restarted agent resumed at chunk 30, not ${afterKill[0]}`);
    assert.ok(
      afterKill.every((i) => i >= 30),
      'no chunk before the kill was fetched again',
    );
    const s = gw1.state();
    assert.deepEqual([s.active, s.slots.b?.version, s.pending], ['b', '0.2.0', undefined]);
    assert.equal(gw1.exits[gw1.exits.length - 2], null, 'the SIGKILL');
    assert.ok(gw1.starts >= startsBefore + 2, 'restarted after the kill, then into the new slot');
  });

  it('a bundle that hangs on trial is rolled back by the launcher; the old agent reports it', async () => {
    const hung = Buffer.from('setInterval(() => {}, 1 << 30);\n');
    await server.job('gw-2', 'self-hung', hung, sign(hung, '0.3.0', 1024));
    await waitFor('rolled back', () => server.final('gw-2', 'self-hung') !== undefined, 40_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${gw2.output().slice(-4_000)}`);
    });
    const final = server.final('gw-2', 'self-hung')!;
    assert.equal(final.phase, 'rolledBack');
    assert.equal(final.running, '0.1.0');
    assert.equal(final.detail, '0.3.0 did not pass its health check within 3000 ms of starting');
    assert.deepEqual([gw2.state().active, gw2.state().slots.b, gw2.state().pending], ['a', null, undefined]);
  });

  it('the real agent that cannot reach its broker fails its own health check and is rolled back', async () => {
    // The "new bundle" is the real agent started with a config whose broker is not there.
    const closed = await freePort();
    const unreachable = join(dir, 'gw-2', 'unreachable.json');
    const config = JSON.parse(await readFile(gw2Config, 'utf8')) as { north: Record<string, unknown> };
    await writeFile(unreachable, JSON.stringify({ ...config, north: { ...config.north, url: `mqtt://127.0.0.1:${closed}` } }));
    const wrapper = Buffer.from(
      `process.argv = process.argv.map((a) => (a === ${JSON.stringify(gw2Config)} ? ${JSON.stringify(unreachable)} : a));\n` +
        `await import(${JSON.stringify(pathToFileURL(bundles.agent).href)});\n`,
    );
    await server.job('gw-2', 'self-offline', wrapper, sign(wrapper, '0.4.0', 1024));
    await waitFor('rolled back', () => server.final('gw-2', 'self-offline') !== undefined, 40_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${gw2.output().slice(-4_000)}`);
    });
    const final = server.final('gw-2', 'self-offline')!;
    assert.equal(final.phase, 'rolledBack');
    assert.equal(
      final.detail,
      '0.4.0 failed its health check: not healthy within 3000 ms of starting (north link not connected); back on 0.1.0',
    );
    assert.equal(gw2.exits.at(-1), 75, 'the agent on trial rolled back by itself and exited for a restart');
    assert.equal(gw2.state().active, 'a');
  });
});
