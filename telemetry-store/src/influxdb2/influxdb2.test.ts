import assert from 'node:assert/strict';
import { openStore } from '../registry';
import { startV2WriteBridge, type RunningV2Bridge } from '../testing/influxd-v2-bridge';
import { startInfluxDB, type RunningInfluxDB } from '../testing/influxd';
import { describeStoreContract } from '../testing/store-contract';

// No InfluxDB 2.x/3.x server can be installed here, and Debian's influxd 1.6 has no /api/v2/write
// (1.8 added it). So the contract suite runs the influxdb2 backend — its client library, line
// protocol, retries and InfluxQL reads — against a real influxd 1.6 through a loopback bridge that
// adds the one translation 1.8 does itself (/api/v2/write?bucket=B → /write?db=B). What this does
// not cover (tokens, orgs, DBRP mappings of a real 2.x) is checked at the HTTP level in store.test.ts.
let influx: RunningInfluxDB | undefined;
let bridge: RunningV2Bridge | undefined;
let n = 0;

async function freshBucket(): Promise<string> {
  const bucket = `contract_v2_${++n}`;
  // Buckets are the operator's to provision (init() creates nothing), so the test does it.
  const res = await fetch(`${influx!.url}/query`, { method: 'POST', body: new URLSearchParams({ q: `CREATE DATABASE "${bucket}"` }) });
  assert.equal(res.status, 200, await res.text());
  return bucket;
}

describeStoreContract(
  'influxdb2 (influxd 1.6 behind a /api/v2/write bridge)',
  async () => openStore({ kind: 'influxdb2', url: bridge!.url, org: 'poste', bucket: await freshBucket(), token: 'not-checked-by-1.6' }),
  {
    before: async () => {
      influx = await startInfluxDB();
      bridge = await startV2WriteBridge(influx.url);
    },
    after: async () => {
      const writes = bridge?.writes() ?? 0;
      await bridge?.stop();
      await influx?.stop();
      // The points really went through the 2.x write path, not some other way in.
      assert.ok(writes > 0, 'no request reached /api/v2/write');
    },
  },
);
