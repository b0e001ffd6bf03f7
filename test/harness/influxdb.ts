import { type RunningInfluxDB, type StartInfluxDBOptions, startInfluxDB as startStoreInfluxDB } from '@poste/telemetry-store/testing';
import { guardChildren } from './children';

export type { RunningInfluxDB };

/**
 * The store's influxd starter, with this test process's safety net set up first: the influxd it
 * spawns inherits the owner mark and is killed with the test process however that ends.
 */
export function startInfluxDB(options: StartInfluxDBOptions = {}): Promise<RunningInfluxDB> {
  guardChildren();
  return startStoreInfluxDB(options);
}
