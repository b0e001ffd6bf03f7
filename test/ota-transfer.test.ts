// OTA through the whole chain: the cloud's OTA server (cloud/src/rollouts) publishes a job on the
// real broker, the agent's OTA extension pulls the image chunk by chunk, checks every chunk, and
// feeds a simulated device on its LAN endpoint, which verifies and installs it into its B slot and
// commits after its self-test. The uplink is cut in the middle of the download: the agent resumes
// from the last good chunk (no chunk before the cut is fetched twice). A chunk whose bytes do not
// match its hash is dropped and asked for again.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { otaExtension, startAgent, type Agent } from '@poste/agent';
import { createBroker, CredentialsStore, type PosteBroker } from '@poste/broker';
import { inProcessBus, startOtaServer, type OtaServer } from '@poste/cloud';
import { generateSigningKey, signImage } from '@poste/firmware-bridge';
import { chunkCount, encode, type OtaStatus, topic } from '@poste/protocol';
import { OtaDevice, OtaLanDevice, SlotStorage } from '@poste/simulators';
import { waitFor } from './harness/free-port';
import { startTcpProxy, type TcpProxy } from './harness/tcp-proxy';

describe('OTA over MQTT through the agent', () => {
  const cleanup: Array<() => Promise<unknown> | unknown> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('delivers a signed image to a device, resuming after the uplink is cut, dropping a corrupted chunk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poste-ota-e2e-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const key = generateSigningKey();
    const image = Buffer.concat([Buffer.from('{"selfTest":"pass"}\n'), randomBytes(60_000)]);
    const manifest = signImage(image, { family: 'poste-native', model: 'lc-200', version: '1.1.0', chunkSize: 1024 }, key.privateKeyPem);

    const { store, password } = await CredentialsStore.empty().withGateway('gw-ota', 'vila');
    const broker: PosteBroker = await createBroker({ credentials: store, logLevel: 'silent' });
    const brokerPort = await broker.listen(0, '127.0.0.1');
    cleanup.push(() => broker.close());
    const proxy: TcpProxy = await startTcpProxy(brokerPort);
    cleanup.push(() => proxy.close());

    const statuses: OtaStatus[] = [];
    const served: number[] = [];
    const server: OtaServer = await startOtaServer({
      bus: inProcessBus(broker),
      log: broker.logger,
      imageOf: (jobId) => (jobId === 'job-1' ? { manifest, image } : undefined),
      serving: () => true,
      onStatus: (_gw, s) => statuses.push(s),
      onChunkServed: (_gw, _job, index) => served.push(index),
    });
    cleanup.push(() => server.close());

    const agent: Agent = await startAgent({
      gatewayId: 'gw-ota',
      north: { url: `mqtt://127.0.0.1:${proxy.port}`, username: 'gw-ota', password, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } },
      local: { host: '127.0.0.1', port: 0 },
      dataDir: join(dir, 'agent'),
      dimming: { enabled: false },
      extensions: [otaExtension({ dir: join(dir, 'agent', 'ota'), retryMs: 500 })],
      logLevel: 'silent',
    });
    cleanup.push(() => agent.stop());
    await agent.whenNorthConnected();

    const device = new OtaDevice({
      family: 'poste-native',
      model: 'lc-200',
      trustedKeysPem: [key.publicKeyPem],
      storage: new SlotStorage({ dir: join(dir, 'lum-1'), factoryVersion: '1.0.0' }),
      now: () => Date.now(),
    });
    const lan = await OtaLanDevice.connect({
      url: `mqtt://127.0.0.1:${agent.localPort}`,
      deviceId: 'lum-1',
      kind: 'luminaire',
      model: 'lc-200',
      device,
      now: () => Date.now(),
    });
    cleanup.push(() => lan.close());
    await waitFor('lum-1 registered', () => agent.devices().some((d) => d.id === 'lum-1'), 5_000);

    await server.publishJob('gw-ota', { v: 1, jobId: 'job-1', manifest, targets: ['lum-1'], issuedAt: Date.now() });

    // A corrupted chunk from the cloud side (bytes that do not match their hash) is dropped.
    await waitFor('5 chunks served', () => served.length >= 5, 10_000);
    const bogus = {
      v: 1,
      jobId: 'job-1',
      index: served.at(-1)! + 1,
      data: Buffer.alloc(1024, 7).toString('base64'),
      sha256: createHash('sha256').update('other').digest('hex'),
    };
    await inProcessBus(broker).publish(topic('otaChunk', { gateway: 'gw-ota' }), encode(bogus), false);

    // Cut the uplink in the middle of the download, then restore it.
    await waitFor('25 chunks served', () => served.length >= 25, 10_000);
    proxy.cut();
    const servedAtCut = Math.max(...served);
    await new Promise((r) => setTimeout(r, 300));
    proxy.restore();

    await waitFor('lum-1 committed', () => statuses.some((s) => s.target === 'lum-1' && s.phase === 'committed'), 30_000);
    assert.equal(device.running, '1.1.0');
    assert.equal(device.activeSlot, 'B');
    const n = chunkCount(manifest);
    // Every chunk fetched; none before the cut point fetched again after it (resume, not restart).
    assert.deepEqual(
      [...new Set(served)].sort((a, b) => a - b),
      [...Array(n).keys()],
    );
    const afterCut = served.slice(served.lastIndexOf(servedAtCut) + 1);
    assert.ok(
      afterCut.every((i) => i >= servedAtCut - 1),
      `after the cut only chunks from ${servedAtCut - 1} on: ${afterCut.slice(0, 5).join(',')}`,
    );
    assert.ok(proxy.connections >= 2, 'the agent reconnected');
    const stats = agent.stats().extensions.ota as { chunksRejected: number; chunksReceived: number };
    assert.equal(stats.chunksRejected, 1, 'the corrupted chunk was dropped');
    assert.equal(stats.chunksReceived, n);
    assert.deepEqual(
      statuses.filter((s) => s.target === 'lum-1' && s.phase !== 'transferring').map((s) => s.phase),
      ['installing', 'committed'],
    );
  });
});
