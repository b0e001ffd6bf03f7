// The rig of read-flood.test.ts: poste-cloud (startCloud) on an embedded store in a temp dir,
// seeded with history so a long energy query is real work, gateways publishing at a fixed offered
// rate from a child process, and an API flood from another child process.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addGateway } from '@poste/broker';
import { startCloud, type Cloud } from '@poste/cloud';
import { parseInventory, type QueryLimitsInput } from '@poste/dashboard-api';
import { topic } from '@poste/protocol';
import { DuckDBInstance } from '@duckdb/node-api';
import { openStore, type TelemetryStore } from '@poste/telemetry-store';
import { pino } from 'pino';
import { runFlood } from './bench/load/run-flood';
import { runLoad } from './bench/load/run-load';
import type { FloodResult } from './bench/load/api-flood';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export interface RigOptions {
  gateways: number;
  /** readings per message and messages per second per gateway: offered points/s = product × gateways */
  readingsPerMessage: number;
  messagesPerSecond: number;
  /** history written before the start: luminaires × readings each, spread over the last `historyDays` */
  historyLuminaires: number;
  historyReadings: number;
  historyDays: number;
  queryLimits?: QueryLimitsInput;
}

export interface Phase {
  seconds: number;
  pointsWritten: number;
  pointsPerSecond: number;
  /** highest RSS sampled during the phase minus RSS at its start, MB */
  rssGrowthMb: number;
  flood?: FloodResult;
}

export interface Rig {
  cloud: Cloud;
  /** drives ingest for `seconds` at the offered rate, optionally under an API flood; measures the written rate */
  phase(seconds: number, flood?: { clients: number; rangeDays: number }): Promise<Phase>;
  close(): Promise<void>;
}

export async function startRig(o: RigOptions): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'poste-read-flood-'));
  let store: TelemetryStore | undefined;
  let cloud: Cloud | undefined;
  try {
    const path = join(dir, 'telemetry.duckdb');
    // The store creates its tables; the history then goes in with one SQL statement, because
    // writing it point by point through the store would take a minute (its rollups are built at
    // the next open, see seedHistory).
    await (await openStore({ kind: 'embedded', path })).close();
    await seedHistory(path, o);
    store = await openStore({ kind: 'embedded', path });
    const credentialsFile = join(dir, 'creds.json');
    const gateways: Array<{ id: string; password: string }> = [];
    for (let g = 0; g < o.gateways; g++)
      gateways.push({ id: `flood-gw${g}`, password: await addGateway(credentialsFile, `flood-gw${g}`, 'belem') });
    const inventory = parseInventory({
      municipalities: [{ id: 'belem', name: 'Belém', timeZone: 'America/Belem', tariffBrlPerKwh: 0.8 }],
      gateways: Object.fromEntries(gateways.map((g) => [g.id, 'belem'])),
    });
    cloud = await startCloud({
      store,
      credentialsFile,
      inventory,
      logger: pino({ level: 'silent' }),
      // the flood reads aggregate energy: public, as an operator may configure it
      publicReads: true,
      // The rig's load generator sends raw telemetry without announcing its devices: this test is
      // about reads against writes, not about the announcement rule (tested in broker/).
      ingest: { fleet: { requireAnnouncement: false } },
      ...(o.queryLimits ? { queryLimits: o.queryLimits } : {}),
    });
    const running = cloud;
    let round = 0;
    // Rounds span minutes of timestamps each: an hour apart, the last well before now.
    const firstRoundTs = Date.now() - 2 * DAY_MS;

    return {
      cloud: running,
      async phase(seconds, floodSpec) {
        round += 1;
        const rss0 = process.memoryUsage().rss;
        let rssMax = rss0;
        const sampler = setInterval(() => {
          rssMax = Math.max(rssMax, process.memoryUsage().rss);
        }, 100);
        const flooding = floodSpec
          ? runFlood({
              url: running.dashboardUrl,
              clients: floodSpec.clients,
              rangeDays: floodSpec.rangeDays,
              durationMs: (seconds + 4) * 1000,
            })
          : undefined;
        // Let the flood reach full pressure before measuring.
        if (flooding) await new Promise((r) => setTimeout(r, 1_000));
        const written0 = running.ingest.stats().pointsWritten;
        const t0 = performance.now();
        await runLoad({
          url: running.mqttUrl,
          clients: gateways.map((g) => ({
            clientId: g.id,
            username: g.id,
            password: g.password,
            topic: topic('luminaireTelemetry', { gateway: g.id }),
            // New devices each round: the load generator restarts its counters at every run, and
            // a device's counters starting over would be refused as implausible steps.
            devicePrefix: `${g.id}-r${round}-lum`,
          })),
          messagesPerClient: Math.round(seconds * o.messagesPerSecond),
          readingsPerMessage: o.readingsPerMessage,
          window: 8,
          // Each round writes new timestamps (overwrites would be cheaper than real ingest), all in
          // the past (ingest refuses readings dated beyond its clock's skew) and each round after
          // the one before, so every round is the same workload: readings appended in order.
          startTs: firstRoundTs + round * HOUR_MS,
          messagesPerSecondPerClient: o.messagesPerSecond,
        });
        const elapsed = (performance.now() - t0) / 1000;
        const pointsWritten = running.ingest.stats().pointsWritten - written0;
        clearInterval(sampler);
        const flood = await flooding;
        return {
          seconds: elapsed,
          pointsWritten,
          pointsPerSecond: pointsWritten / elapsed,
          rssGrowthMb: (rssMax - rss0) / 1e6,
          ...(flood ? { flood } : {}),
        };
      },
      async close() {
        await running.stop();
        await store?.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await cloud?.stop();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function seedHistory(path: string, o: RigOptions): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  try {
    const conn = await instance.connect();
    const start = Date.now() - o.historyDays * DAY_MS;
    const step = Math.floor((o.historyDays * DAY_MS) / o.historyReadings);
    await conn.run(
      `INSERT INTO luminaire (municipality, gateway, luminaire, "group", ts, activePower, activeEnergy, operatingHours, status)
       SELECT 'belem', 'hist-gw' || (l.range % 8), 'hist-' || l.range, 'g1', $start + k.range * $step, 80.0, 1000.0 + k.range * 12.0, 100.0 + k.range / 3.0, 'ok'
       FROM range(${o.historyLuminaires}) l, range(${o.historyReadings}) k`,
      { start, step },
    );
    // Without its rollup table the store builds the hourly rollups from these raw points when it
    // next opens (as for a file written before rollups existed): the 399-day reports then sum a
    // year of rollup rows, as they would in a city that has run for a year.
    await conn.run('DROP TABLE luminaire_hour');
    conn.closeSync();
  } finally {
    instance.closeSync();
  }
}
