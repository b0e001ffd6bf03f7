// Issue 14, item 1: power comes back and a whole street boots in the same second. 5,000 devices,
// each a raw MQTT 3.1.1 socket with its own credentials (lan-swarm.ts), connect to one agent (its
// CLI, in its own process, so the memory measured is the agent's) within one second and publish
// their retained births. The agent must not crash, must register every device, must stay within a
// memory bound, and must command devices again within seconds: a cloud command to a device reaches
// it and its ack reaches the cloud (mosquitto as the cloud broker).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { hashDeviceSecret } from '@poste/agent';
import { topic, type Ack } from '@poste/protocol';
import { startTsChild } from './harness/child-process';
import { freePort, waitFor } from './harness/free-port';
import { startMosquitto } from './harness/mosquitto';
import { startSwarm, stopSwarm, type SwarmDevice } from './lan-swarm';

const GW = 'gw-storm';
const DEVICES = 5_000;
/** The agent's resident memory may not exceed this at any scrape, during or after the storm. */
const RSS_BOUND_BYTES = 350 * 1024 * 1024;
/**
 * Every device connected, born and subscribed within this after the first connect. Typically ~15 s
 * on 2 cores; the bound is generous for a CI machine shared with other test files (the storm is
 * three busy processes: this swarm, the agent, mosquitto).
 */
const ABSORBED_WITHIN_MS = 120_000;
/** Then a command's ack is back at the cloud within this. */
const COMMAND_WITHIN_MS = 5_000;

async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

test('device storm: 5,000 devices with credentials connect and publish births within one second; all registered, memory bounded, commands flow again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'poste-storm-'));
  const north = await startMosquitto();
  const ids = Array.from({ length: DEVICES }, (_, i) => `lum-${String(i).padStart(5, '0')}`);
  const secretOf = (id: string): string => `storm-secret-${id}`;
  writeFileSync(
    join(dir, 'devices.json'),
    JSON.stringify({ version: 1, devices: ids.map((id) => ({ id, secretHash: hashDeviceSecret(secretOf(id)) })) }),
  );
  const lanPort = await freePort();
  const metricsPort = await freePort();
  writeFileSync(
    join(dir, 'agent.json'),
    JSON.stringify({
      configVersion: 3,
      gatewayId: GW,
      north: { url: north.url },
      adapters: [{ kind: 'poste', port: lanPort, auth: { mode: 'credentials', credentialsFile: 'devices.json' } }],
      metrics: { port: metricsPort },
      dataDir: join(dir, 'data'),
      logLevel: 'info',
      dimming: { enabled: false },
    }),
  );
  const agent = startTsChild('agent/src/cli.ts', ['--config', join(dir, 'agent.json')]);
  const cloud = connect(north.url, { clientId: 'storm-cloud', protocolVersion: 4, reconnectPeriod: 0 });
  let swarm: SwarmDevice[] = [];
  let maxRss = 0;
  let sampling = true;
  try {
    await agent.waitForLine(/"agent started"/, 30_000);
    await waitFor('the cloud client connected', () => cloud.connected, 10_000);
    const acks: Ack[] = [];
    await cloud.subscribeAsync(topic('ack', { gateway: GW }), { qos: 1 });
    cloud.on('message', (_t, payload) => acks.push(JSON.parse(payload.toString('utf8')) as Ack));
    const sampler = (async () => {
      while (sampling) {
        maxRss = Math.max(maxRss, (await scrape(metricsPort)).get('process_resident_memory_bytes') ?? 0);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    const started = Date.now();
    swarm = startSwarm({ port: lanPort, ids, password: secretOf, spreadMs: 900 });
    await waitFor(
      'every device connected, born (PUBACK) and subscribed',
      () => swarm.length === DEVICES && swarm.every((d) => d.birthAcked && d.subscribed),
      ABSORBED_WITHIN_MS,
    );
    const absorbedMs = Date.now() - started;
    const m = await scrape(metricsPort);
    assert.equal(m.get('poste_agent_devices'), DEVICES, 'every device registered');
    assert.equal(swarm.filter((d) => d.connack !== 0).length, 0, 'no device refused');
    assert.equal(swarm.filter((d) => d.closed).length, 0, 'no device disconnected');
    assert.equal(agent.process.exitCode, null, 'the agent is running');

    // Commands flow again: one device at each end of the storm, from the cloud, ack back at the cloud.
    const commandAt = Date.now();
    for (const [n, dev] of [ids[0]!, ids[DEVICES - 1]!].entries()) {
      const now = Date.now();
      cloud.publish(
        topic('command', { gateway: GW }),
        JSON.stringify({
          v: 1,
          id: `after-storm-${n}`,
          target: { device: dev },
          issuedAt: now,
          expiresAt: now + 60_000,
          action: 'identify',
          durationS: 5,
        }),
        { qos: 1 },
      );
    }
    await waitFor('both acks at the cloud', () => acks.filter((a) => a.id.startsWith('after-storm-')).length === 2, COMMAND_WITHIN_MS);
    const commandMs = Date.now() - commandAt;
    assert.ok(
      acks.every((a) => a.outcome === 'done'),
      JSON.stringify(acks),
    );
    assert.equal(swarm[0]!.commands.length + swarm[DEVICES - 1]!.commands.length, 2, 'each device got its command');
    sampling = false;
    await sampler;
    assert.ok(
      maxRss > 0 && maxRss < RSS_BOUND_BYTES,
      `agent RSS peaked at ${(maxRss / 2 ** 20).toFixed(0)} MiB (bound ${RSS_BOUND_BYTES / 2 ** 20} MiB)`,
    );
    console.log(
      `storm: ${DEVICES} devices absorbed in ${absorbedMs} ms; command acks in ${commandMs} ms; agent RSS peak ${(maxRss / 2 ** 20).toFixed(0)} MiB`,
    );
  } finally {
    sampling = false;
    stopSwarm(swarm);
    cloud.end(true);
    await agent.stop('SIGTERM', 10_000).catch(() => agent.kill());
    await north.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
