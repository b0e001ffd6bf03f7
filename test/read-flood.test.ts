// Reads never starve writes: poste-cloud on the embedded store, gateways publishing at a fixed
// offered rate, then the same with 20 API clients asking for 399-day energy reports as fast as they
// can (ignoring Retry-After). The history is a year of rollup rows, so each report is real work.
// The dashboard's query limits (one expensive query at a time, resting in proportion to its cost, a
// small queue, 503 + Retry-After beyond) must keep ingest within 10 % of its undisturbed rate and
// the server's memory flat. Before the limits the same flood cut ingest to 7 % (1,284 → 85 points/s
// in the original finding). The "8–11 %" measured after rollups landed was the rig's own doing:
// its second round re-sent the first round's devices with their counters restarted, dated before
// the first (every reading late, then refused as an implausible step), so ingest wrote nothing
// whether or not anyone read. Each round now publishes new devices, dated after the last round.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRig, type Phase, type Rig } from './read-flood-rig';

const PHASE_S = 8;

describe('a flood of expensive API reads on poste-cloud (embedded store)', () => {
  let rig: Rig;
  let calm: Phase;
  let flooded: Phase;

  before(async () => {
    rig = await startRig({
      gateways: 4,
      readingsPerMessage: 30,
      messagesPerSecond: 10, // 4 × 10 × 30 = 1,200 points/s offered
      historyLuminaires: 200,
      historyReadings: 1_000, // 200,000 rows over 398 days: a 399-day report scans all of them
      historyDays: 398,
    });
  });
  after(async () => {
    await rig?.close();
  });

  it('a range longer than the limit is refused with a 400 naming it', async () => {
    const now = Date.now();
    const res = await fetch(`${rig.cloud.dashboardUrl}/api/v1/energy?from=${now - 500 * 86_400_000}&to=${now}`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /longer than the limit of 400 days \(maxRangeDays\)/);
  });

  it('ingest keeps its rate while 20 clients ask for 399-day reports; the excess is shed with 503 + Retry-After', async (t) => {
    // The flood must be real work: a report over the whole range covers the year of history.
    const now = Date.now();
    const probe = await fetch(`${rig.cloud.dashboardUrl}/api/v1/energy?from=${now - 399 * 86_400_000}&to=${now}`);
    assert.equal(probe.status, 200);
    const report = (await probe.json()) as { luminaires: number };
    assert.ok(report.luminaires >= 200, `a 399-day report covers the 200 luminaires of history, got ${report.luminaires}`);
    calm = await rig.phase(PHASE_S);
    flooded = await rig.phase(PHASE_S, { clients: 20, rangeDays: 399 });
    const ratio = flooded.pointsPerSecond / calm.pointsPerSecond;
    const f = flooded.flood!;
    t.diagnostic(
      `ingest ${calm.pointsPerSecond.toFixed(0)} points/s undisturbed, ${flooded.pointsPerSecond.toFixed(0)} points/s under the flood: ratio ${ratio.toFixed(3)}; ` +
        `flood ${f.requests} requests ${JSON.stringify(f.byStatus)}, 200s p50 ${f.okP50.toFixed(0)} ms; RSS growth ${flooded.rssGrowthMb.toFixed(1)} MB`,
    );
    assert.ok(
      calm.pointsPerSecond > 600,
      `undisturbed ingest ${calm.pointsPerSecond.toFixed(0)} points/s: the rig itself is too slow to judge`,
    );
    // A refused reading would lower the ratio for reasons that have nothing to do with reads.
    assert.equal(rig.cloud.ingest.stats().rejected, 0, "ingest refused none of the rig's readings");
    assert.equal(f.byStatus.error, undefined, `requests failed without a status: ${f.firstError}`);
    const shed = f.byStatus['503'] ?? 0;
    assert.ok(shed > 0, 'the flood was shed');
    assert.equal(f.retryAfter, shed, 'every 503 carries Retry-After');
    assert.ok((f.byStatus['200'] ?? 0) > 0, 'some reports were still served');
    for (const status of Object.keys(f.byStatus)) assert.ok(['200', '503', '504'].includes(status), `unexpected status ${status}`);
    // Issues 8 and 13: within 10 % of the undisturbed rate. The offered rate is fixed, so a store
    // with time to spare writes all of it in both phases; the ratio drops only when reads take the
    // writer's time (1.0 measured on a 2-core machine at load average 11).
    assert.ok(ratio >= 0.9, `ingest fell to ${(ratio * 100).toFixed(1)} % of its undisturbed rate under the flood`);
    assert.ok(flooded.rssGrowthMb < 200, `server RSS grew ${flooded.rssGrowthMb.toFixed(1)} MB during the flood`);
    const metrics = await (await fetch(`${rig.cloud.dashboardUrl}/metrics`)).text();
    const shedMetric = Number(/poste_dashboard_reads_shed_total\{route="\/api\/v1\/energy"\} (\d+)/.exec(metrics)?.[1]);
    assert.equal(shedMetric, shed, 'shed requests are counted in /metrics');
  });
});
