// The largest city this machine sustains (issue 12 item 4, issue 14 item 3): the city in a box
// (`npm start`, a child process exactly as a user runs it) on InfluxDB 1.6, readings every 60 s per
// luminaire in REAL time (speed 1), with 1 broker node and with 3 (a cluster on a redis-server the
// city starts). A size is sustained when, over the whole window, the devices offered what the size
// implies (luminaires ÷ 60 per second, none held back by backpressure) and the store wrote all of
// it (written = offered, checked once the window closes). Beside it, in the same run: raw
// line-protocol writes of the same points straight to the same influxd, and the ratio.
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toLineProtocol, type Point } from '@poste/telemetry-store';
import { startTsChild, type RunningChild } from '../harness/child-process';
import { startInfluxDB, type RunningInfluxDB } from '../harness/influxdb';
import { type BenchModule, rawReadings, report } from './bench-kit';

const LUMINAIRES_PER_GATEWAY = 1_000;
const READING_INTERVAL_S = 60;

interface Progress {
  at: number;
  readings: number;
  written: number;
  gatewaysOnline: number;
  lagging: boolean;
}

/** One progress line of `npm start` (non-TTY: one every 10 s). */
function parseProgress(line: string, at: number): Progress | undefined {
  const r = /readings (\d+) · points written (\d+)/.exec(line);
  const g = /gateways (\d+)\/(\d+)/.exec(line);
  if (!r || !g) return undefined;
  return { at, readings: Number(r[1]), written: Number(r[2]), gatewaysOnline: Number(g[1]), lagging: /behind \(backpressure\)/.test(line) };
}

/** CPU seconds (user + system) of a process so far, from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export interface CityRun {
  luminaires: number;
  nodes: number;
  sustained: boolean;
  why: string;
  offeredPerS: number;
  writtenPerS: number;
  expectedPerS: number;
  startupS: number;
  /** after the start, until the devices had caught up with the clock */
  settleS: number;
  cityCpuPct: number;
  rssMb: number;
}

/** Runs a city of `luminaires` on `nodes` broker nodes for `windowS` real seconds after a warm-up. */
async function runCity(influx: RunningInfluxDB, luminaires: number, nodes: number, windowS: number, warmupS: number): Promise<CityRun> {
  const gateways = luminaires / LUMINAIRES_PER_GATEWAY;
  // Municipalities of at most 25 gateways: what the city's size flags express.
  const municipalities = Math.ceil(gateways / 25);
  const perMunicipality = gateways / municipalities;
  if (!Number.isInteger(perMunicipality))
    throw new Error(`cluster bench: ${gateways} gateways do not split into ${municipalities} municipalities`);
  const dir = await mkdtemp(join(tmpdir(), 'poste-bench-city-'));
  const database = `bench_city_${nodes}n_${luminaires}`;
  const progress: Progress[] = [];
  const t0 = performance.now();
  const child: RunningChild = startTsChild(
    'city/src/cli.ts',
    [
      '--data',
      dir,
      '--fresh',
      '--influx-url',
      influx.url,
      '--port',
      '0',
      '--mqtt-port',
      '0',
      '--speed',
      '1',
      '--municipalities',
      String(municipalities),
      '--gateways-per-municipality',
      String(perMunicipality),
      '--luminaires-per-gateway',
      String(LUMINAIRES_PER_GATEWAY),
      '--aps-per-gateway',
      '0',
      '--nodes',
      String(nodes),
    ],
    { POSTE_INFLUX_DB: database, POSTE_LOG_LEVEL: 'error' },
  );
  let buffered = '';
  child.process.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const l of lines) {
      const p = parseProgress(l, performance.now());
      if (p) progress.push(p);
    }
  });
  const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
  try {
    await child.waitForLine(/Ctrl-C to stop/, 20 * 60_000);
    const startupS = (performance.now() - t0) / 1000;
    // Starting is a storm (every gateway's login, every device's retained birth): the devices fall
    // behind the clock meanwhile. The window opens once they caught up and every gateway is online.
    const caughtUpBy = performance.now() + 10 * 60_000;
    const steady = (): boolean => {
      const p = progress.at(-1);
      return p !== undefined && !p.lagging && p.gatewaysOnline === gateways;
    };
    // The births and the first minute's readings come first: only then can the lag show.
    await sleep(READING_INTERVAL_S);
    while (!steady() && performance.now() < caughtUpBy) await sleep(2);
    const settleS = (performance.now() - t0) / 1000 - startupS;
    await sleep(warmupS);
    const first = progress.at(-1);
    if (!first) throw new Error('cluster bench: no progress line from the city');
    const cpu0 = cpuSeconds(child.pid);
    const c0 = performance.now();
    await sleep(windowS);
    const last = progress.at(-1)!;
    const cpu1 = cpuSeconds(child.pid);
    const cityCpuPct = ((cpu1 - cpu0) / ((performance.now() - c0) / 1000)) * 100;
    const rss = rssMb(child.pid);
    // written = offered: whatever was offered up to the window's end is written soon after (the
    // pipeline carries at most a few sim steps' readings).
    const catchUpBy = performance.now() + 90_000;
    while (performance.now() < catchUpBy && (progress.at(-1)?.written ?? 0) < last.readings) await sleep(1);
    const caughtUp = (progress.at(-1)?.written ?? 0) >= last.readings;
    const spanS = (last.at - first.at) / 1000;
    const offeredPerS = (last.readings - first.readings) / spanS;
    const writtenPerS = (last.written - first.written) / spanS;
    const expectedPerS = luminaires / READING_INTERVAL_S;
    const lagged = progress.filter((p) => p.at >= first.at && p.at <= last.at).some((p) => p.lagging);
    const reasons = [
      ...(offeredPerS < 0.95 * expectedPerS ? [`offered ${Math.round(offeredPerS)}/s < 95 % of ${Math.round(expectedPerS)}/s`] : []),
      ...(lagged ? ['devices fell behind the clock (backpressure)'] : []),
      ...(caughtUp ? [] : [`written ${progress.at(-1)?.written} < offered ${last.readings} 90 s after the window`]),
      ...(last.gatewaysOnline < gateways ? [`${gateways - last.gatewaysOnline} gateways offline`] : []),
    ];
    return {
      luminaires,
      nodes,
      sustained: reasons.length === 0,
      why: reasons.join('; ') || 'written = offered',
      offeredPerS,
      writtenPerS,
      expectedPerS,
      startupS,
      settleS,
      cityCpuPct,
      rssMb: rss,
    };
  } finally {
    await child.stop('SIGTERM', 20_000);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Points shaped like the city's luminaire readings (9 fields), for the raw baseline. */
const rawPoints = (n: number, offset: number): Point[] => rawReadings(n, offset, { gateways: 100, luminaires: 100_000, stepMs: 60_000 });

/** Raw line protocol, 5,000 points per POST, 2 writers, to a fresh database: points/s. */
async function rawWrites(influx: RunningInfluxDB, total: number): Promise<number> {
  const db = 'bench_city_raw';
  await fetch(`${influx.url}/query?q=${encodeURIComponent(`CREATE DATABASE ${db}`)}`, { method: 'POST' });
  const bodies: string[] = [];
  for (let off = 0; off < total; off += 5_000)
    bodies.push(
      rawPoints(Math.min(5_000, total - off), off)
        .map(toLineProtocol)
        .join('\n'),
    );
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        // A loaded influxd answers 500 "timeout" now and then (its write timeout is 10 s): the
        // baseline retries as ingest does, and the time spent counts.
        for (let attempt = 1; ; attempt++) {
          const r = await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body });
          if (r.status === 204) break;
          const text = await r.text();
          if (attempt >= 5 || !/timeout/.test(text)) throw new Error(`raw write: HTTP ${r.status} ${text}`);
        }
      }
    }),
  );
  return (total / (performance.now() - t)) * 1000;
}

export const clusterBench: BenchModule = {
  name: 'cluster',
  description:
    'largest city (luminaires, 1 reading/60 s in real time) npm start sustains on InfluxDB 1.6 with written = offered, 1 and 3 broker nodes; raw line protocol to the same influxd',
  async run({ quick, sizes }) {
    // Quick: 1-minute windows, from the 100,000-luminaire target down until one holds.
    // Full: 10-minute windows, up from 50,000 until one does not hold.
    // --sizes: those sizes in the order given, each tried (with 1 and with 3 nodes) whatever the last did.
    const windowS = quick ? 60 : 600;
    const warmupS = quick ? 30 : 120;
    const influx = await startInfluxDB({});
    try {
      const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
      const results: { nodes: number; best: CityRun | undefined }[] = [];
      for (const nodes of [1, 3]) {
        const ladder = sizes ?? (quick ? [100_000, 50_000, 25_000] : [50_000, 100_000, 150_000, 200_000]);
        let best: CityRun | undefined;
        for (const luminaires of ladder) {
          const run = await runCity(influx, luminaires, nodes, windowS, warmupS);
          report(`cluster: ${nodes} node${nodes > 1 ? 's' : ''}, ${luminaires / 1000}k luminaires`, {
            sustained: run.sustained ? 'yes' : 'no',
            'offered/s': Math.round(run.offeredPerS),
            'written/s': Math.round(run.writtenPerS),
            'expected/s': Math.round(run.expectedPerS),
            'startup s': Math.round(run.startupS),
            'caught up after s': Math.round(run.settleS),
            'city cpu %': Math.round(run.cityCpuPct),
            'rss MB': run.rssMb,
            why: JSON.stringify(run.why),
          });
          if (run.sustained && (!best || run.luminaires > best.luminaires)) best = run;
          if (!sizes && (quick ? run.sustained : !run.sustained)) break;
        }
        results.push({ nodes, best });
      }
      // The baseline after the cities, on the same influxd (which then holds their data too).
      const raw = await rawWrites(influx, quick ? 200_000 : 1_000_000);
      report('cluster: raw line protocol, 2 writers', { 'points/s': Math.round(raw) });
      for (const { nodes, best } of results) {
        report(
          `cluster: ${nodes} node${nodes > 1 ? 's' : ''}, largest sustained`,
          {
            luminaires: best?.luminaires ?? 0,
            'written/s': Math.round(best?.writtenPerS ?? 0),
            'window s': windowS,
            'raw points/s': Math.round(raw),
            'ratio to raw': best ? (best.writtenPerS / raw).toFixed(3) : 'n/a',
            'load at start': JSON.stringify(loadavg),
          },
          '100,000 luminaires sustained for 10 min',
        );
      }
      console.log(
        '   sizes: gateways of 1,000 luminaires, no APs; real time (speed 1); InfluxDB 1.6 on the same machine; devices share MQTT connections (500 per connection)',
      );
    } finally {
      await influx.stop();
    }
  },
};
