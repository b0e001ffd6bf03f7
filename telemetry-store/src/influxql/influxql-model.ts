// A model of InfluxDB 1.x as the rollup layer's property test needs it (rollup-layer.property.test.ts):
// points kept by (measurement, tag set, time) with InfluxDB's write semantics — a point written
// again at the same series and time merges its fields into the stored ones, the new values winning
// — and the subset of InfluxQL the layer and its maintainer issue: `SELECT *` or a list of columns, with a WHERE of tag
// equalities, time bounds, AND, OR and parentheses, GROUP BY tags, ORDER BY time, LIMIT per series.
// Not a general InfluxQL engine: a statement outside that subset throws, so a new query shape in
// the layer fails the test loudly instead of being answered wrongly.
import type { InfluxQLSeries } from './reads';
import type { InfluxPoint } from './rollup-layer';

type Value = number | string | boolean;

interface StoredPoint {
  tags: Record<string, string>;
  fields: Record<string, Value>;
  ts: number;
}

type Condition =
  | { kind: 'tag'; tag: string; value: string }
  | { kind: 'time'; op: '<' | '<=' | '>' | '>='; ms: number }
  | { kind: 'and' | 'or'; left: Condition; right: Condition };

const SELECT =
  /^SELECT (\*|"\w+"(?:, "\w+")*) FROM "(\w+)"(?: WHERE (.+?))?(?: GROUP BY ((?:"\w+"(?:, )?)+))?(?: ORDER BY time (ASC|DESC))?(?: LIMIT (\d+))?$/;

export class InfluxQLModel {
  /** measurement → `tagsJSON|ts` → point */
  private readonly measurements = new Map<string, Map<string, StoredPoint>>();

  /** Applies one write request's points, as influxd does once it accepted the request. */
  write(points: readonly InfluxPoint[]): void {
    for (const p of points) {
      const tags = Object.fromEntries(
        Object.entries(p.tags)
          .filter(([, v]) => v !== '' && v !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : 1)),
      ) as Record<string, string>;
      const id = `${JSON.stringify(tags)}|${p.ts}`;
      const m = this.measurements.get(p.measurement) ?? new Map<string, StoredPoint>();
      this.measurements.set(p.measurement, m);
      const old = m.get(id);
      m.set(id, { tags, ts: p.ts, fields: { ...(old?.fields ?? {}), ...(p.fields as Record<string, Value>) } });
    }
  }

  /** Every stored point of a measurement (for the test's reference). */
  points(measurement: string): StoredPoint[] {
    return [...(this.measurements.get(measurement)?.values() ?? [])];
  }

  /** One statement, answered like /query?epoch=ms (series in tag order, columns time first then sorted). */
  query(statement: string): InfluxQLSeries[] {
    const match = SELECT.exec(statement);
    if (!match) throw new Error(`influxql model: unsupported statement ${statement}`);
    const [, selected = '*', measurement = '', whereText, groupText, order, limitText] = match;
    const where = whereText === undefined ? undefined : parseCondition(whereText);
    const groupTags = groupText === undefined ? [] : [...groupText.matchAll(/"(\w+)"/g)].map((g) => g[1]!);
    const all = [...(this.measurements.get(measurement)?.values() ?? [])];
    const columns = new Set<string>();
    for (const p of all) for (const k of [...Object.keys(p.tags), ...Object.keys(p.fields)]) columns.add(k);
    for (const t of groupTags) columns.delete(t);
    // SELECT "a", "b": those columns in that order (InfluxDB answers a missing field with null)
    const listed = selected === '*' ? undefined : [...selected.matchAll(/"(\w+)"/g)].map((c) => c[1]!);
    const cols = ['time', ...(listed ?? [...columns].sort())];
    const groups = new Map<string, { tags: Record<string, string>; points: StoredPoint[] }>();
    for (const p of all) {
      if (where !== undefined && !holds(where, p)) continue;
      const tags = Object.fromEntries(groupTags.map((t) => [t, p.tags[t] ?? '']));
      const k = JSON.stringify(tags);
      const g = groups.get(k) ?? { tags, points: [] };
      groups.set(k, g);
      g.points.push(p);
    }
    const out: InfluxQLSeries[] = [];
    for (const k of [...groups.keys()].sort()) {
      const g = groups.get(k)!;
      const sorted = g.points.sort((a, b) => (order === 'DESC' ? b.ts - a.ts : a.ts - b.ts));
      const limited = limitText === undefined ? sorted : sorted.slice(0, Number(limitText));
      out.push({
        name: measurement,
        ...(groupTags.length > 0 ? { tags: g.tags } : {}),
        columns: cols,
        values: limited.map((p) => cols.map((c) => (c === 'time' ? p.ts : (p.tags[c] ?? p.fields[c] ?? null)))),
      });
    }
    return out;
  }
}

function holds(c: Condition, p: StoredPoint): boolean {
  switch (c.kind) {
    case 'tag':
      return (p.tags[c.tag] ?? '') === c.value;
    case 'time':
      return c.op === '<' ? p.ts < c.ms : c.op === '<=' ? p.ts <= c.ms : c.op === '>' ? p.ts > c.ms : p.ts >= c.ms;
    case 'and':
      return holds(c.left, p) && holds(c.right, p);
    case 'or':
      return holds(c.left, p) || holds(c.right, p);
  }
}

const TOKEN = /\s*(\(|\)|AND\b|OR\b|"\w+" = '(?:[^'\\]|\\.)*'|time (?:<=|>=|<|>) -?\d+ms)/y;

/** WHERE text → condition tree (AND binds tighter than OR, as in InfluxQL). */
function parseCondition(text: string): Condition {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const t = TOKEN.exec(text);
    if (!t) throw new Error(`influxql model: cannot read WHERE at ${text.slice(TOKEN.lastIndex)}`);
    tokens.push(t[1]!);
  }
  let i = 0;
  const atom = (): Condition => {
    const t = tokens[i++];
    if (t === '(') {
      const inner = or();
      if (tokens[i++] !== ')') throw new Error(`influxql model: unbalanced parentheses in ${text}`);
      return inner;
    }
    const tag = /^"(\w+)" = '((?:[^'\\]|\\.)*)'$/.exec(t ?? '');
    if (tag) return { kind: 'tag', tag: tag[1]!, value: tag[2]!.replace(/\\(.)/g, '$1') };
    const time = /^time (<=|>=|<|>) (-?\d+)ms$/.exec(t ?? '');
    if (time) return { kind: 'time', op: time[1] as '<' | '<=' | '>' | '>=', ms: Number(time[2]) };
    throw new Error(`influxql model: unexpected ${t} in ${text}`);
  };
  const and = (): Condition => {
    let left = atom();
    while (tokens[i] === 'AND') {
      i++;
      left = { kind: 'and', left, right: atom() };
    }
    return left;
  };
  const or = (): Condition => {
    let left = and();
    while (tokens[i] === 'OR') {
      i++;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };
  const c = or();
  if (i !== tokens.length) throw new Error(`influxql model: trailing ${tokens.slice(i).join(' ')} in ${text}`);
  return c;
}
