import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FleetEngine } from './fleet-engine';
import { generateCity } from './scenario';
import type { DeviceOutput } from './sim-devices';
import { parseFleetSnapshot } from './snapshot';

const city = generateCity({
  seed: 11,
  start: '2024-06-01T20:30:00Z',
  municipalities: [
    {
      id: 'campinas',
      name: 'Campinas',
      timeZone: 'America/Sao_Paulo',
      lat: -22.9,
      lon: -47.06,
      gateways: [{ id: 'cps-gw1', luminaires: 6, aps: 2 }],
    },
  ],
});

function collecting(): { engine: FleetEngine; out: DeviceOutput[] } {
  const out: DeviceOutput[] = [];
  return { engine: new FleetEngine({ devices: city.devices, startMs: city.startMs }, (_d, o) => out.push(o)), out };
}

test('an engine restored from a JSON snapshot continues exactly like the original (counters, faults, PRNG, schedule)', () => {
  const a = collecting();
  a.engine.stepTo(city.startMs + 3 * 3_600_000);
  a.engine.injectFault('cps-gw1-lum-0002', 'cyclingFailure');
  a.engine.injectFault('cps-gw1-lum-0003', 'counterReset');
  a.engine.handleCommand('cps-gw1-lum-0004', {
    v: 1,
    id: 'c1',
    expiresAt: a.engine.nowMs + 60_000,
    action: 'dim',
    level: 20,
    until: a.engine.nowMs + 7_200_000,
  });
  a.engine.stepTo(a.engine.nowMs + 600_000);
  const snap = parseFleetSnapshot(JSON.parse(JSON.stringify({ v: 1, engine: a.engine.snapshot(), held: [] })), 'test');

  const b = collecting();
  b.engine.restore(snap.engine);
  assert.deepEqual(b.engine.produced, a.engine.produced);
  a.out.length = 0;
  a.engine.stepTo(a.engine.nowMs + 5 * 3_600_000);
  b.engine.stepTo(b.engine.nowMs + 5 * 3_600_000);
  assert.ok(a.out.length > 100);
  assert.deepEqual(b.out, a.out, 'same readings, same values, same timestamps');
  assert.deepEqual(b.engine.groundTruth(), a.engine.groundTruth());
  assert.deepEqual(b.engine.produced, a.engine.produced);
});

test('restore refuses a snapshot of another fleet, and a bad snapshot names the path', () => {
  const a = collecting();
  const other = new FleetEngine({ devices: city.devices.slice(1), startMs: city.startMs });
  assert.throws(() => other.restore(a.engine.snapshot()), /devices this fleet lacks: cps-gw1-lum-0001/);
  const snap = JSON.parse(JSON.stringify({ v: 1, engine: a.engine.snapshot(), held: [] })) as {
    engine: { devices: Record<string, { model: { energyCounterWh: unknown } }> };
  };
  snap.engine.devices['cps-gw1-lum-0001']!.model.energyCounterWh = 'lots';
  assert.throws(
    () => parseFleetSnapshot(snap, 'ckpt.json'),
    /^Error: ckpt.json: engine\.devices\.cps-gw1-lum-0001\.model\.energyCounterWh: /,
  );
});
