import { openStore } from '../registry';
import { startInfluxDB, type RunningInfluxDB } from '../testing/influxd';
import { describeStoreContract } from '../testing/store-contract';

// The contract suite on a real influxd (Debian's 1.6) started on free loopback ports; one database
// per store the suite opens, so every store starts empty.
let influx: RunningInfluxDB | undefined;
let n = 0;
describeStoreContract('influxdb1', () => openStore({ kind: 'influxdb1', url: influx!.url, database: `contract_${++n}` }), {
  before: async () => {
    influx = await startInfluxDB();
  },
  after: async () => {
    await influx?.stop();
  },
});
