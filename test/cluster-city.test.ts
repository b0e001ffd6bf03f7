// The city in a box as a broker cluster (issue 12, item 3): `startCity({ nodes: 3 })` — what
// `npm start -- --nodes 3` runs — starts its own redis-server, three broker + ingest nodes on it,
// and gives every agent the three URLs. The gateways spread over the nodes, each node ingests what
// its own gateways publish, and every reading is written once: no node writes another's readings
// (the ingests' counts add up to exactly what the devices produced), and when a node goes away its
// gateways move to the others and the store still holds every reading exactly once. When the city
// stops, its redis-server and that server's directory are gone.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCity, type City } from '@poste/city';
import { SimClock, type CityScenarioInput } from '@poste/simulators';
import { openStore } from '@poste/telemetry-store';
import { waitFor } from './harness/free-port';

const HOUR = 3_600_000;
const scenario: CityScenarioInput = {
  seed: 1212,
  start: '2024-06-03T21:00:00Z',
  speed: 600,
  reportIntervalS: 60,
  stepS: 10,
  municipalities: [
    {
      id: 'campinas',
      name: 'Campinas',
      timeZone: 'America/Sao_Paulo',
      lat: -22.9056,
      lon: -47.0608,
      gateways: Array.from({ length: 6 }, (_, i) => ({ id: `cps-cl-${i + 1}`, luminaires: 15, aps: 1 })),
    },
  ],
};

/** Which node (0 = the cloud's) each gateway is connected to now. */
function placement(city: City): Map<string, number> {
  const brokers = [city.broker, ...city.nodes.map((n) => n.broker)];
  const out = new Map<string, number>();
  brokers.forEach((b, i) => {
    // Aedes keeps its connected clients by id (not in its typings): this node's own, not the cluster's.
    const clients = (b.aedes as unknown as { clients: Record<string, unknown> }).clients;
    for (const id of Object.keys(clients)) if (id.startsWith('cps-cl-')) out.set(id, i);
  });
  return out;
}

function produced(city: City): number {
  return city.fleet.counters.telemetry + city.fleet.counters.events;
}

test('a city on 3 broker nodes and its own redis-server: gateways spread and fail over, every reading written once', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'poste-cluster-city-'));
  const store = await openStore({ kind: 'memory' });
  const startMs = Date.parse(scenario.start);
  const clock = SimClock.accelerated(startMs, scenario.speed!);
  const city = await startCity({ scenario, dataDir, store, clock, nodes: 3, logLevel: 'error' });
  const own = city.redis?.own;
  try {
    assert.ok(own, 'no --redis: the city started a redis-server of its own');
    assert.match(city.redis!.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(city.nodeUrls.length, 3);
    await waitFor('every gateway connected', () => placement(city).size === 6, 30_000, 50);
    const spread = new Set(placement(city).values());
    assert.ok(spread.size >= 2, `gateways spread over the nodes, got ${JSON.stringify([...placement(city)])}`);

    // Phase 1: each node's ingest writes its own gateways' readings, none another's. (The clock ran
    // while the city started: the phases are measured from where it is now.)
    const t1 = clock.now() + HOUR / 2;
    await waitFor('half an hour of simulated time', () => clock.now() >= t1, 60_000, 50);
    await city.settle(t1);
    const ingests = [city.ingest, ...city.nodes.map((n) => n.ingest)];
    const written = ingests.map((i) => i.stats().pointsWritten);
    t.diagnostic(`points written per node in phase 1: ${written.join(', ')}; produced ${produced(city)}`);
    assert.ok(written.filter((n) => n > 0).length >= 2, 'more than one node ingests');
    assert.equal(
      written.reduce((a, b) => a + b, 0),
      produced(city),
      'the ingests together wrote each reading once: none lost, none written by two nodes',
    );
    // In the store: each luminaire's readings as the ground truth counts them, and every AP reading
    // and event the devices released — as many as produced, so none twice.
    const inStore = async (to: number) => ({
      luminaire: await store.countPoints('luminaire', 0, to + 1),
      all:
        (await store.countPoints('luminaire', 0, to + 1)) +
        (await store.countPoints('ap', 0, to + 1)) +
        (await store.countPoints('event', 0, to + 1)),
    });
    const truth1 = city.fleet.groundTruth();
    const reports1 = truth1.devices.reduce((n, d) => n + d.reports, 0);
    assert.deepEqual(await inStore(truth1.atMs), { luminaire: reports1, all: produced(city) });

    // Phase 2: the last node goes away; its gateways move to the other two.
    city.fleet.clearHorizon();
    const leaving = city.nodes[1]!;
    const moved = [...placement(city)].filter(([, n]) => n === 2).map(([gw]) => gw);
    await leaving.stop();
    await waitFor(
      'every gateway on the remaining nodes',
      () => {
        const p = placement(city);
        return p.size === 6 && [...p.values()].every((n) => n !== 2);
      },
      30_000,
      50,
    );
    const t2 = clock.now() + HOUR;
    await waitFor('another hour of simulated time', () => clock.now() >= t2, 60_000, 50);
    await city.settle(t2);
    const truth2 = city.fleet.groundTruth();
    const reports2 = truth2.devices.reduce((n, d) => n + d.reports, 0);
    assert.ok(reports2 >= reports1 + 90 * 60, `the last hour produced luminaire readings too (${reports1} → ${reports2})`);
    const stored = await inStore(truth2.atMs);
    t.diagnostic(`moved off the stopped node: ${moved.join(', ') || 'none'}; stored ${JSON.stringify(stored)}, produced ${produced(city)}`);
    assert.deepEqual(stored, { luminaire: reports2, all: produced(city) }, 'every reading of both phases is in the store, once');
  } finally {
    await city.stop();
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  assert.ok(own);
  assert.throws(() => process.kill(own.pid!, 0), /ESRCH/, 'the redis-server the city started is stopped with it');
  assert.equal(existsSync(own.dir), false, 'and its directory is removed');
});
