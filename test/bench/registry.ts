// Every benchmark module, in run order. Add yours here (one import, one entry).
import type { BenchModule } from './bench-kit';
import { schedulerDimmingBench } from './scheduler-dimming.bench';
import { schedulerBandwidthBench } from './scheduler-bandwidth.bench';
import { schedulerLatencyBench } from './scheduler-latency.bench';
import { gatewayLatencyBench } from './gateway-latency.bench';
import { spoolBench } from './spool.bench';
import { brokerBench } from './broker.bench';
import { ingestBench } from './ingest.bench';
import { embeddedBench } from './embedded.bench';
import { gatewayWindowBench } from './gateway-window.bench';
import { dashboardApiBench } from './dashboard-api.bench';
import { storeReadsBench } from './store-reads.bench';
import { storeSizeBench } from './store-size.bench';
import { clusterBench } from './cluster.bench';

export const benchmarks: BenchModule[] = [
  schedulerDimmingBench,
  schedulerBandwidthBench,
  schedulerLatencyBench,
  gatewayLatencyBench,
  spoolBench,
  brokerBench,
  ingestBench,
  embeddedBench,
  gatewayWindowBench,
  dashboardApiBench,
  storeReadsBench,
  storeSizeBench,
  clusterBench,
];
