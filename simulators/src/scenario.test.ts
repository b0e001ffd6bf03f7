import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeviceStateSchema, isValidId } from '@poste/protocol';
import { CityScenarioSchema, defaultCityScenario, generateCity, utcOffsetMinutes } from './scenario';

describe('scenario', () => {
  it('the default city has 2 municipalities, ≥200 luminaires and ≥10 APs with topic-safe ids', () => {
    const city = generateCity(defaultCityScenario);
    assert.equal(city.municipalities.length, 2);
    assert.ok(city.gateways.length >= 2);
    assert.ok(city.luminaires.length >= 200);
    assert.ok(city.aps.length >= 10);
    assert.equal(city.luminaires[0]?.id, 'cps-gw1-lum-0001');
    for (const d of city.devices) assert.ok(isValidId(d.id));
    for (const l of city.luminaires) {
      assert.ok(l.nominalPowerW >= 60 && l.nominalPowerW <= 120);
      assert.ok(l.baselineLampW > l.nominalPowerW);
      assert.ok(city.gateways.find((g) => g.id === l.gateway)?.groups.includes(l.group));
    }
    assert.equal(city.luminaires.filter((l) => l.group === 'cps-gw1-arterial').length, 20);
  });

  it('is deterministic from the seed', () => {
    assert.deepEqual(generateCity(defaultCityScenario), generateCity(defaultCityScenario));
    const other = generateCity({ ...defaultCityScenario, seed: 1 });
    assert.notDeepEqual(
      other.luminaires.map((l) => l.model),
      generateCity(defaultCityScenario).luminaires.map((l) => l.model),
    );
  });

  it('uses the municipality time zone for the fallback program', () => {
    assert.equal(utcOffsetMinutes('America/Sao_Paulo', Date.UTC(2024, 5, 1)), -180);
    assert.equal(utcOffsetMinutes('America/Manaus', Date.UTC(2024, 5, 1)), -240);
    const city = generateCity(defaultCityScenario);
    assert.equal(city.luminaires[0]?.program.utcOffsetMinutes, -180);
  });

  it('honours explicit groups and rejects invalid scenarios', () => {
    const city = generateCity({
      seed: 1,
      start: '2024-06-01T20:00:00Z',
      municipalities: [
        {
          id: 'm',
          name: 'M',
          timeZone: 'America/Belem',
          lat: -1,
          lon: -48,
          gateways: [{ id: 'm-gw1', luminaires: 5, aps: 0, groups: [{ id: 'a', luminaires: 2, roadClass: 'arterial' }, { id: 'b' }] }],
        },
      ],
    });
    assert.deepEqual(
      city.luminaires.map((l) => l.group),
      ['a', 'a', 'b', 'b', 'b'],
    );
    assert.equal(city.luminaires[0]?.nominalPowerW, 120);
    assert.equal(CityScenarioSchema.safeParse({ ...defaultCityScenario, start: 'yesterday' }).success, false);
    const badTz = {
      ...defaultCityScenario,
      municipalities: [{ id: 'x', name: 'x', timeZone: 'Mars/Olympus', lat: 0, lon: 0, gateways: [{ id: 'g', luminaires: 1, aps: 0 }] }],
    };
    assert.equal(CityScenarioSchema.safeParse(badTz).success, false);
    // Births carry model/group/nominal power as DeviceState allows.
    DeviceStateSchema.parse({
      v: 1,
      kind: 'luminaire',
      status: 'online',
      seq: 1,
      ts: 0,
      group: city.luminaires[0]?.group,
      nominalPowerW: 120,
    });
  });
});
