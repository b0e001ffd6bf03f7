import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultCityScenario, generateCity } from '@poste/simulators';
import { sizedCityScenario } from './city-size';
import { FaultInjector } from './fault-injector';

test('a sized city has exactly the asked shape, ids unique, and a seed of its own per size', () => {
  const size = { municipalities: 12, gatewaysPerMunicipality: 3, luminairesPerGateway: 7, apsPerGateway: 2 };
  const city = generateCity(sizedCityScenario(size));
  assert.equal(city.municipalities.length, 12);
  assert.equal(city.gateways.length, 36);
  assert.equal(city.luminaires.length, 12 * 3 * 7);
  assert.equal(city.aps.length, 12 * 3 * 2);
  assert.equal(new Set(city.devices.map((d) => d.id)).size, city.devices.length);
  assert.equal(new Set(city.gateways.map((g) => g.id)).size, 36);
  const other = sizedCityScenario({ ...size, luminairesPerGateway: 8 });
  assert.notEqual(sizedCityScenario(size).seed, other.seed);
  assert.notEqual(sizedCityScenario(size).seed, defaultCityScenario.seed);
  assert.equal(sizedCityScenario(size).seed, sizedCityScenario(size).seed);
});

test('faults arrive at the configured rate (simulated time) and are repaired; one per luminaire at a time', () => {
  let now = 0;
  const open = new Map<string, string>();
  let injected = 0;
  let cleared = 0;
  const luminaires = Array.from({ length: 1_000 }, (_, i) => `l${i}`);
  const f = new FaultInjector({
    target: {
      injectFault: (d, fault) => {
        assert.ok(!open.has(d));
        open.set(d, fault);
        injected++;
      },
      clearFault: (d, fault) => {
        assert.equal(open.get(d), fault);
        open.delete(d);
        cleared++;
      },
    },
    luminaires,
    faultsPerHour: 60,
    now: () => now,
    seed: 7,
    repairAfterMs: 3_600_000,
  });
  for (let minute = 1; minute <= 24 * 60; minute++) {
    now = minute * 60_000;
    f.tick();
  }
  // 24 h at 60/h: 1,440 expected; a Poisson count stays within ±10 % here (sd ≈ 38).
  assert.ok(injected > 1_296 && injected < 1_584, `injected ${injected}`);
  assert.ok(open.size <= 80, `about an hour's faults open, got ${open.size}`);
  assert.equal(injected - cleared, open.size);
  const none = new FaultInjector({
    target: { injectFault: () => assert.fail(), clearFault: () => assert.fail() },
    luminaires,
    faultsPerHour: 0,
    now: () => now,
    seed: 1,
  });
  now += 1e9;
  none.tick();
});
