// Fuzzing the desired-config parser (what the cloud publishes, retained, to every gateway) with
// fast-check: 10,000 generated payloads — arbitrary bytes, arbitrary JSON, and desired configs with
// generated versions and sections. The handler never throws; each payload is applied (reported
// "applied"), ignored as not newer (silently, as a retained repeat), or refused — every refusal
// counted under configDesired and reported "rejected" with a path and a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ReportedConfig } from '@poste/protocol';
import { DesiredConfigHandler } from './desired-config';
import { Rejections } from './rejections';
import { StateStore } from './state-store';
import { ManualTimers, silentLogger } from './test-support';

test('desired config fuzz: 10,000 generated payloads — never a throw; each applied, ignored as not newer, or refused and counted with a path', () => {
  const timers = new ManualTimers();
  const rejections = new Rejections(silentLogger);
  const reports: ReportedConfig[] = [];
  let applied = 0;
  const handler = new DesiredConfigHandler({
    clock: timers.clock,
    store: new StateStore(undefined, silentLogger),
    rejections,
    log: silentLogger,
    apply: () => void applied++,
    publishReported: (r) => void reports.push(r),
  });
  const telemetry = fc.record(
    { batchMaxReadings: fc.integer({ min: -5, max: 20_000 }), batchMaxDelayMs: fc.integer({ min: -5, max: 120_000 }) },
    { requiredKeys: [] },
  );
  const desired = fc.record(
    {
      v: fc.oneof(fc.constant(1), fc.jsonValue({ maxDepth: 0 })),
      version: fc.oneof(fc.integer({ min: -2, max: 20_000 }), fc.double(), fc.string({ maxLength: 3 })),
      config: fc.oneof(
        fc.record({ telemetry, scheduler: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }),
        fc.jsonValue({ maxDepth: 2 }),
      ),
    },
    { requiredKeys: ['v', 'version'] },
  );
  const payload = fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 4 }).map((j) => Buffer.from(j)) },
    { weight: 7, arbitrary: desired.map((d) => Buffer.from(JSON.stringify(d))) },
  );
  let ignored = 0;
  fc.assert(
    fc.property(payload, (p) => {
      const before = { version: handler.applied.version, reports: reports.length, refused: rejections.counts().configDesired };
      handler.handle(p);
      const newReports = reports.slice(before.reports);
      const refused = rejections.counts().configDesired - before.refused;
      assert.ok(newReports.length <= 1 && refused <= 1);
      if (newReports.length === 0) {
        // Not newer: a retained repeat, nothing changes and nothing is reported.
        assert.equal(refused, 0);
        assert.equal(handler.applied.version, before.version);
        ignored++;
        return;
      }
      const r = newReports[0]!;
      if (r.status === 'applied') {
        assert.equal(refused, 0);
        assert.ok(r.version > before.version, 'only a newer version is applied');
        assert.equal(handler.applied.version, r.version);
      } else {
        assert.equal(refused, 1, 'every refusal counted');
        assert.equal(r.version, before.version, 'the version in force is unchanged');
        assert.ok(r.error !== undefined && r.error.reason.length > 0, 'with a reason');
      }
    }),
    { numRuns: 10_000, seed: 0xdc0f },
  );
  const counted = rejections.counts().configDesired;
  const appliedReports = reports.filter((r) => r.status === 'applied').length;
  assert.equal(appliedReports, applied);
  assert.equal(reports.length - appliedReports, counted);
  assert.equal(applied + counted + ignored, 10_000);
  assert.ok(applied > 0 && counted > 0 && ignored > 0, `${applied} applied, ${counted} refused, ${ignored} ignored`);
});
