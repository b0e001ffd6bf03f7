import assert from 'node:assert/strict';
import { StoreWriteError } from '../errors';
import type { RunInfluxQL } from '../influxql/reads';
import { seriesOf } from '../influxql/reads';
import type { InfluxPoint } from '../influxql/rollup-layer';
import { toLineProtocol } from '../line-protocol';

/** A fresh database on a test influxd, with the two functions the InfluxQL layers are built on. */
export interface TestDatabase {
  /** an InfluxQL query, times in ms */
  run: RunInfluxQL;
  /** one write request (nothing sent for no points); a refusal throws a retryable StoreWriteError */
  send(points: readonly InfluxPoint[]): Promise<void>;
}

/**
 * Creates `db` on the influxd at `url` (the tests' own, from startInfluxDB). `onSend` sees every
 * request's points before it goes, for tests that count requests.
 */
export async function createTestDatabase(
  url: string,
  db: string,
  onSend?: (points: readonly InfluxPoint[]) => void,
): Promise<TestDatabase> {
  const created = await fetch(`${url}/query?q=${encodeURIComponent(`CREATE DATABASE ${db}`)}`, { method: 'POST' });
  assert.equal(created.status, 200, `CREATE DATABASE: HTTP ${created.status} ${await created.clone().text()}`);
  const run: RunInfluxQL = async (q) => seriesOf(await (await fetch(`${url}/query?db=${db}&epoch=ms&q=${encodeURIComponent(q)}`)).json());
  const send = async (points: readonly InfluxPoint[]): Promise<void> => {
    onSend?.(points);
    if (points.length === 0) return;
    const r = await fetch(`${url}/write?db=${db}&precision=ms`, { method: 'POST', body: points.map(toLineProtocol).join('\n') });
    if (r.status !== 204) throw new StoreWriteError(`write: HTTP ${r.status} ${await r.text()}`, true, points.length);
  };
  return { run, send };
}
