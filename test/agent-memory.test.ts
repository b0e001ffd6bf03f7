// The agent's memory stays flat however long its uplink is down: 1,000 simulated luminaires (and
// 10 APs) report through a real agent process while its uplink (a cuttable relay to mosquitto) is
// cut for a simulated hour on an accelerated clock. The backlog goes to the disk spool, not the
// heap: the agent's RSS after the hour is within 10 % of before, and the backlog drains once the
// uplink is back.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DeviceFleet, generateCity, SimClock } from '@poste/simulators';
import { scrapeMetrics } from './bench/deployed-agent';
import { startTsChild } from './harness/child-process';
import { freePort, waitFor } from './harness/free-port';
import { startMosquitto } from './harness/mosquitto';
import { startTcpProxy } from './harness/tcp-proxy';

const GW = 'gw-memory';
const MIN = 60_000;
const SPEED = 900;

/** The agent's RSS, settled: the lowest of a few scrapes a little apart (a scrape can land mid-burst). */
async function settledRss(port: number): Promise<number> {
  let low = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    low = Math.min(low, (await scrapeMetrics(port)).get('process_resident_memory_bytes') ?? Number.NaN);
    await new Promise((r) => setTimeout(r, 300));
  }
  return low;
}

test('agent with 1,000 luminaires, uplink cut for a simulated hour: RSS within 10 % of before, backlog on disk', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'poste-agent-memory-'));
  const mosquitto = await startMosquitto();
  const proxy = await startTcpProxy(mosquitto.port);
  const lanPort = await freePort();
  const metricsPort = await freePort();
  const config = join(root, 'agent.json');
  await writeFile(
    config,
    JSON.stringify({
      configVersion: 2,
      gatewayId: GW,
      north: {
        url: `mqtt://127.0.0.1:${proxy.port}`,
        keepaliveS: 5,
        connectTimeoutMs: 2_000,
        reconnect: { initialDelayMs: 200, maxDelayMs: 1_000 },
      },
      adapters: [{ kind: 'poste', port: lanPort }],
      dataDir: join(root, 'data'),
      metrics: { port: metricsPort },
      logLevel: 'warn',
      dimming: { enabled: false },
    }),
  );
  // --expose-gc: each /metrics scrape collects first, so RSS and heap show what the agent holds,
  // not how much garbage the last burst of readings left behind (without it the same run shows
  // 2–13 % more RSS after the outage, all of it collectable). A small young generation, as a
  // memory-constrained gateway would run the agent.
  const agent = startTsChild('agent/src/cli.ts', ['--config', config], { NODE_OPTIONS: '--max-semi-space-size=1 --expose-gc' });
  const city = generateCity({
    seed: 77,
    start: '2024-06-03T20:00:00Z',
    speed: 1,
    reportIntervalS: 60,
    stepS: 10,
    municipalities: [
      { id: 'memtown', name: 'Memtown', timeZone: 'UTC', lat: 0, lon: 0, gateways: [{ id: GW, luminaires: 1_000, aps: 10 }] },
    ],
  });
  const clock = SimClock.accelerated(city.startMs, SPEED);
  const fleet = new DeviceFleet({
    devices: city.devices,
    url: `mqtt://127.0.0.1:${lanPort}`,
    clock,
    startMs: city.startMs,
    stepS: 10,
    reportIntervalS: 60,
  });
  const untilSim = (offsetMs: number) =>
    waitFor(`simulated +${offsetMs / MIN} min`, () => fleet.engine.nowMs >= city.startMs + offsetMs, 120_000, 50);
  try {
    await waitFor(
      'agent metrics',
      async () =>
        scrapeMetrics(metricsPort).then(
          () => true,
          () => false,
        ),
      30_000,
    );
    await fleet.start();
    // Warm-up with the uplink up: every device connected and reporting, batches flowing, long
    // enough for the heap to reach its working size (the comparison is with a warm process).
    await untilSim(40 * MIN);
    const before = await settledRss(metricsPort);
    const heapBefore = (await scrapeMetrics(metricsPort)).get('nodejs_heap_size_used_bytes');

    proxy.cut();
    // The agent notices the reset socket on its own event loop, busy with 1,000 devices: wait
    // for it to call the link down rather than assume it did.
    await waitFor(
      'the agent sees its uplink down',
      () => scrapeMetrics(metricsPort).then((m) => m.get('poste_agent_north_connected') === 0),
      30_000,
      100,
    );
    await untilSim(100 * MIN);
    const during = await scrapeMetrics(metricsPort);
    const after = await settledRss(metricsPort);
    const heapAfter = (await scrapeMetrics(metricsPort)).get('nodejs_heap_size_used_bytes');
    t.diagnostic(`live heap before ${heapBefore} bytes, after ${heapAfter} bytes`);
    const backlog = during.get('poste_agent_spool_depth_records{spool="telemetry"}') ?? 0;
    t.diagnostic(
      `RSS before ${(before / 2 ** 20).toFixed(1)} MiB, after an hour cut off ${(after / 2 ** 20).toFixed(1)} MiB (${(((after - before) / before) * 100).toFixed(1)} %); backlog ${backlog} readings, ${during.get('poste_agent_spool_bytes{spool="telemetry"}')} bytes on disk`,
    );
    assert.equal(during.get('poste_agent_north_connected'), 0, 'the uplink was down');
    // 1,000 luminaires × 60 readings; the devices may run behind the clock on a loaded machine.
    assert.ok(backlog > 30_000, `a simulated hour of readings waits in the spool: ${backlog}`);
    assert.ok(after <= before * 1.1, `RSS ${after} after the outage vs ${before} before: more than 10 % growth`);

    // The devices stop reporting, so the spool can empty; then the uplink comes back.
    await fleet.stop();
    proxy.restore();
    const replayStart = Date.now();
    await waitFor(
      'the backlog delivered',
      async () => (await scrapeMetrics(metricsPort)).get('poste_agent_spool_depth_records{spool="telemetry"}') === 0,
      60_000,
      200,
    );
    const end = await scrapeMetrics(metricsPort);
    t.diagnostic(`backlog replayed in ${((Date.now() - replayStart) / 1_000).toFixed(1)} s`);
    assert.ok((end.get('poste_agent_replayed_records_total') ?? 0) >= backlog, 'the backlog went out as a replay');
    assert.equal(
      end.get('poste_agent_dropped_records_total{spool="telemetry",policy="drop-oldest"}'),
      0,
      'nothing dropped: the default cap holds an hour',
    );
  } finally {
    await fleet.stop().catch(() => {});
    await agent.stop().catch(() => {});
    await proxy.close();
    await mosquitto.stop();
    await rm(root, { recursive: true, force: true });
  }
});
