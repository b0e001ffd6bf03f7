// Bandwidth tick: the docs/architecture.md bandwidth policy over 100k APs / 1M flows in CSR typed arrays, beside the object
// form (allocateBandwidth per AP) over the same demands.
import type { AccessPointDemand, FlowClass } from '@poste/agent/scheduler';
import { allocateBandwidth, allocateBandwidthBatch, toBandwidthBatch } from '@poste/agent/scheduler';
import type { BenchModule } from './bench-kit';
import { fmt, median, mulberry32, report, timeRuns } from './bench-kit';

function buildAps(apCount: number, flowCount: number): AccessPointDemand[] {
  const rnd = mulberry32(7);
  const classes: FlowClass[] = ['household', 'household', 'household', 'telemedicine', 'public', 'public'];
  const perAp = flowCount / apCount;
  const aps: AccessPointDemand[] = [];
  let made = 0;
  for (let a = 0; a < apCount; a++) {
    const k = a === apCount - 1 ? flowCount - made : Math.max(1, Math.round(perAp * (0.5 + rnd())));
    const take = Math.min(k, flowCount - made - (apCount - 1 - a));
    made += take;
    const capacity = 20_000 + Math.floor(rnd() * 80_000);
    aps.push({
      capacityKbps: capacity,
      householdReserveKbps: capacity * 0.6,
      publicCapKbps: capacity * 0.3,
      flows: Array.from({ length: take }, (_, f) => ({
        id: `f${f}`,
        class: classes[Math.floor(rnd() * classes.length)] as FlowClass,
        demandKbps: Math.floor(rnd() * 20_000),
        weight: 1 + Math.floor(rnd() * 3),
      })),
    });
  }
  return aps;
}

export const schedulerBandwidthBench: BenchModule = {
  name: 'scheduler-bandwidth',
  description: 'bandwidth tick over APs/flows (batch, typed arrays) vs object form',
  run({ quick }) {
    const apCount = quick ? 10_000 : 100_000;
    const flowCount = quick ? 100_000 : 1_000_000;
    const aps = buildAps(apCount, flowCount);
    const batch = toBandwidthBatch(aps);
    const out = allocateBandwidthBatch(batch);
    const rnd = mulberry32(9);
    const ms = timeRuns(quick ? 9 : 15, 2, () => {
      // demands move a little every tick, as telemetry would make them
      for (let j = 0; j < 1000; j++) {
        const f = Math.floor(rnd() * flowCount);
        batch.demandKbps[f] = Math.floor(rnd() * 20_000);
      }
      allocateBandwidthBatch(batch, out);
    });
    const objMs = timeRuns(3, 1, () => {
      for (const ap of aps) allocateBandwidth(ap);
    });
    const bytes =
      batch.capacityKbps.byteLength +
      batch.householdReserveKbps.byteLength +
      batch.publicCapKbps.byteLength +
      batch.apFlowStart.byteLength +
      batch.flowClass.byteLength +
      batch.demandKbps.byteLength +
      batch.weight.byteLength +
      out.allocationKbps.byteLength +
      out.classTotalsKbps.byteLength;
    const med = median(ms);
    const objMed = median(objMs);
    report(
      'bandwidth tick (batch)',
      {
        APs: apCount,
        flows: flowCount,
        median_ms: med,
        max_ms: Math.max(...ms),
        ns_per_flow: (med * 1e6) / flowCount,
        bytes_per_flow: fmt(bytes / flowCount, 1),
      },
      '≤ 100 ms',
    );
    report('bandwidth tick (object form)', { median_ms: objMed, ns_per_flow: (objMed * 1e6) / flowCount });
    report('bandwidth ratio', { speedup: `${fmt(objMed / med, 1)}x` });
  },
};
