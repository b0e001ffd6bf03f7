import { openStore, parseStoreSpec } from '@poste/telemetry-store';
import type { DeviceFleet } from '@poste/simulators';

/** An event the test made a device raise (fault injected or cleared): it must be stored once. */
export interface ExpectedEvent {
  device: string;
  type: string;
  active: boolean;
  ts: number;
}

/** One series whose stored readings differ from what its device produced. */
export interface SeriesMismatch {
  series: string;
  expected: number;
  stored: number;
  /** produced, not stored (first few timestamps) */
  missing: number[];
  /** stored, never produced (first few) */
  unexpected: number[];
  /** stored twice under different tags or values (first few) */
  duplicated: number[];
}

export interface EnergyAccount {
  /** the store's own figure (luminaireEnergy), summed over luminaires, Wh, unrounded */
  storeWh: number;
  /** sum of positive deltas of the stored readings, reading by reading, Wh */
  pointsWh: number;
  /** what the devices' published readings let one measure (simulators' ledger), Wh */
  ledgerWh: number;
  /** exact integral between each luminaire's first and last reading (simulators' ground truth), Wh */
  truthWh: number;
  /** |storeWh − truthWh| / truthWh */
  relativeError: number;
  /** luminaires whose stored readings add up to another energy than they reported */
  perDeviceMismatches: string[];
}

export interface Accounting {
  expected: { luminaire: number; ap: number; event: number };
  stored: { luminaire: number; ap: number; event: number };
  mismatches: SeriesMismatch[];
  energy: EnergyAccount;
}

interface InfluxSeries {
  tags?: Record<string, string>;
  values?: [number, unknown][];
}

/** One InfluxQL query against influxd's HTTP API, times as epoch ms. */
async function influxQuery(url: string, database: string, q: string): Promise<InfluxSeries[]> {
  const res = await fetch(`${url}/query?db=${encodeURIComponent(database)}&epoch=ms&q=${encodeURIComponent(q)}`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`influxd ${res.status} for ${q}: ${text.slice(0, 500)}`);
  const body = JSON.parse(text) as { results?: { series?: InfluxSeries[]; error?: string }[]; error?: string };
  const result = body.results?.[0];
  if (body.error || result?.error) throw new Error(`influxd: ${body.error ?? result?.error} for ${q}`);
  return result?.series ?? [];
}

/**
 * Every reading each device produced so far, by timestamp: devices report on a fixed grid
 * (first report staggered by their index, then every report interval), and the simulators count
 * what they published — luminaires in their ledger, APs in `reports`.
 */
export function producedTimestamps(fleet: DeviceFleet): Map<string, { kind: 'luminaire' | 'ap'; ts: number[] }> {
  const engine = fleet.engine;
  const slots = Math.max(1, Math.floor(engine.reportMs / engine.stepMs));
  const out = new Map<string, { kind: 'luminaire' | 'ap'; ts: number[] }>();
  engine.devices.forEach((d, i) => {
    const first = engine.startMs + engine.stepMs * (1 + (i % slots));
    const count = d.spec.kind === 'luminaire' ? engine.luminaire(d.spec.id).ledger.reports : engine.ap(d.spec.id).reports;
    const ts = Array.from({ length: count }, (_, k) => first + k * engine.reportMs);
    if (d.spec.kind === 'luminaire' && count > 0) {
      const ledger = engine.luminaire(d.spec.id).ledger;
      // The grid is what makes a count an exact per-reading account; a ledger off the grid is a rig error.
      if (ledger.firstTs !== ts[0] || ledger.lastTs !== ts[count - 1]) {
        throw new Error(`${d.spec.id}: ledger ${ledger.firstTs}..${ledger.lastTs} is off the report grid ${ts[0]}..${ts[count - 1]}`);
      }
    }
    out.set(d.spec.id, { kind: d.spec.kind, ts });
  });
  return out;
}

function compareSeries(series: string, expected: readonly number[], storedTs: readonly number[]): SeriesMismatch | null {
  const want = new Set(expected);
  const seen = new Set<number>();
  const duplicated: number[] = [];
  const unexpected: number[] = [];
  for (const t of storedTs) {
    if (seen.has(t)) duplicated.push(t);
    seen.add(t);
    if (!want.has(t)) unexpected.push(t);
  }
  const missing = expected.filter((t) => !seen.has(t));
  if (missing.length === 0 && unexpected.length === 0 && duplicated.length === 0 && storedTs.length === expected.length) return null;
  return {
    series,
    expected: expected.length,
    stored: storedTs.length,
    missing: missing.slice(0, 5),
    unexpected: unexpected.slice(0, 5),
    duplicated: duplicated.slice(0, 5),
  };
}

/** Sum of positive counter deltas in time order, a drop counting from zero (the store's rule). */
function measuredWh(values: readonly number[]): number {
  let wh = 0;
  for (let i = 1; i < values.length; i++) {
    const a = values[i - 1]!;
    const b = values[i]!;
    wh += b >= a ? b - a : b;
  }
  return wh;
}

function byTag(series: InfluxSeries[], tag: string): Map<string, [number, unknown][]> {
  const out = new Map<string, [number, unknown][]>();
  for (const s of series) {
    const key = s.tags?.[tag] ?? '';
    // GROUP BY one tag merges series differing in other tags (group, gateway): a reading stored under
    // two of them shows up here as a duplicated timestamp.
    out.set(key, [...(out.get(key) ?? []), ...(s.values ?? [])]);
  }
  for (const rows of out.values()) rows.sort((a, b) => a[0] - b[0]);
  return out;
}

/**
 * Compares what influxd holds with what the simulated devices produced, series by series and
 * reading by reading, and the stored energy with the simulators' ground truth.
 */
export async function accountReadings(o: {
  influxUrl: string;
  database: string;
  fleet: DeviceFleet;
  events: readonly ExpectedEvent[];
}): Promise<Accounting> {
  const produced = producedTimestamps(o.fleet);
  const [lumSeries, apSeries, eventSeries] = await Promise.all([
    influxQuery(o.influxUrl, o.database, 'SELECT activeEnergy FROM luminaire GROUP BY luminaire'),
    influxQuery(o.influxUrl, o.database, 'SELECT capacityKbps FROM ap GROUP BY ap'),
    influxQuery(o.influxUrl, o.database, 'SELECT active FROM event GROUP BY device, "type"'),
  ]);
  const lum = byTag(lumSeries, 'luminaire');
  const aps = byTag(apSeries, 'ap');
  const mismatches: SeriesMismatch[] = [];
  const expected = { luminaire: 0, ap: 0, event: o.events.length };
  const stored = { luminaire: 0, ap: 0, event: 0 };
  const perDeviceMismatches: string[] = [];
  let pointsWh = 0;
  for (const [device, p] of produced) {
    const rows = (p.kind === 'luminaire' ? lum : aps).get(device) ?? [];
    expected[p.kind] += p.ts.length;
    stored[p.kind] += rows.length;
    const m = compareSeries(
      `${p.kind} ${device}`,
      p.ts,
      rows.map((r) => r[0]),
    );
    if (m) mismatches.push(m);
    if (p.kind === 'luminaire') {
      const wh = measuredWh(rows.map((r) => r[1] as number));
      pointsWh += wh;
      const ledgerWh = o.fleet.engine.luminaire(device).ledger.measuredWh;
      if (Math.abs(wh - ledgerWh) > 1e-9 * Math.max(1, ledgerWh))
        perDeviceMismatches.push(`${device}: stored ${wh} Wh, reported ${ledgerWh} Wh`);
    }
  }
  for (const [device, rows] of [...lum, ...aps]) {
    if (!produced.has(device))
      mismatches.push({
        series: device,
        expected: 0,
        stored: rows.length,
        missing: [],
        unexpected: rows.slice(0, 5).map((r) => r[0]),
        duplicated: [],
      });
  }
  const wantEvents = new Map<string, number[]>();
  for (const e of o.events) {
    const key = `event ${e.device} ${e.type}`;
    wantEvents.set(key, [...(wantEvents.get(key) ?? []), e.ts]);
  }
  const gotEvents = new Map<string, number[]>();
  for (const s of eventSeries) {
    const key = `event ${s.tags?.device ?? ''} ${s.tags?.type ?? ''}`;
    const ts = (s.values ?? []).map((r) => r[0]);
    stored.event += ts.length;
    gotEvents.set(key, [...(gotEvents.get(key) ?? []), ...ts]);
  }
  for (const key of new Set([...wantEvents.keys(), ...gotEvents.keys()])) {
    const m = compareSeries(key, wantEvents.get(key) ?? [], gotEvents.get(key) ?? []);
    if (m) mismatches.push(m);
  }

  const truth = o.fleet.groundTruth();
  const from = o.fleet.engine.startMs;
  await rollupsFlushed(o.influxUrl, o.database);
  const store = await openStore(parseStoreSpec(`influxdb1:${o.influxUrl}/${o.database}`));
  let storeWh: number;
  try {
    const rows = await store.luminaireEnergy({ from, to: truth.atMs + 1 });
    storeWh = rows.reduce((s, r) => s + r.energyWh, 0);
  } finally {
    await store.close();
  }
  const truthWh = truth.total.exactWhBetweenReports;
  return {
    expected,
    stored,
    mismatches,
    energy: {
      storeWh,
      pointsWh,
      ledgerWh: truth.total.measuredWh,
      truthWh,
      relativeError: Math.abs(storeWh - truthWh) / truthWh,
      perDeviceMismatches,
    },
  };
}

/**
 * Waits until the running ingest's rollup rows are written: its store writes a series-hour's row
 * up to 2 s after the raw points (telemetry-store/src/influxdb1/README.md), marking it pending
 * meanwhile, and a reader beside it (this store) does not recompute another writer's rows. Done
 * when the newest watermark covers the newest mark; gives up after 30 s (the energy check then
 * says what is missing).
 */
async function rollupsFlushed(influxUrl: string, database: string): Promise<void> {
  const newest = async (m: string): Promise<number> =>
    Number((await influxQuery(influxUrl, database, `SELECT * FROM "${m}" ORDER BY time DESC LIMIT 1`))[0]?.values?.[0]?.[0] ?? 0);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const [mark, watermark] = await Promise.all([newest('rollup_pending'), newest('rollup_flushed')]);
    if (mark <= watermark) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Points stored so far per measurement (cheap; used to wait for ingest to catch up). */
export async function storedCounts(influxUrl: string, database: string): Promise<{ luminaire: number; ap: number; event: number }> {
  const count = async (q: string): Promise<number> => {
    const series = await influxQuery(influxUrl, database, q);
    return series.reduce((s, x) => s + Number(x.values?.[0]?.[1] ?? 0), 0);
  };
  const [luminaire, ap, event] = await Promise.all([
    count('SELECT count(activeEnergy) FROM luminaire'),
    count('SELECT count(capacityKbps) FROM ap'),
    count('SELECT count(active) FROM event'),
  ]);
  return { luminaire, ap, event };
}
