import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LuminaireReadingSchema } from '@poste/protocol';
import { CYCLING_HALF_PERIOD_MS, LuminaireModel, driverEfficiency, litPowerW, type LuminaireElectrics } from './luminaire-model';
import { mulberry32 } from './prng';

const E: LuminaireElectrics = { nominalPowerW: 90, standbyPowerW: 0.5, supplyVoltageV: 225 };
const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 5, 1, 21);

describe('LuminaireModel', () => {
  it('draws nominal power at 100% and integrates energy exactly', () => {
    const m = new LuminaireModel(E, T0);
    m.setDimLevel(100);
    assert.equal(m.powerW, 90);
    m.advance(HOUR);
    m.advance(HOUR / 2);
    assert.ok(Math.abs(m.energyCounterWh - 135) < 1e-9);
    assert.equal(m.groundTruthWh, m.energyCounterWh);
    assert.ok(Math.abs(m.operatingHours - 1.5) < 1e-12);
  });

  it('power follows dim level and the driver gets less efficient at deep dimming', () => {
    assert.ok(driverEfficiency(1) > driverEfficiency(0.5));
    assert.ok(driverEfficiency(0.5) > driverEfficiency(0.1));
    const p100 = litPowerW(E, 100);
    const p50 = litPowerW(E, 50);
    const p10 = litPowerW(E, 10);
    assert.ok(p100 > p50 && p50 > p10);
    // Lower efficiency at low load: the 10% level costs more than 10% of the LED power.
    const ledFull = p100 - E.standbyPowerW;
    assert.ok(p10 - E.standbyPowerW > 0.1 * ledFull);
    assert.ok(p50 - E.standbyPowerW > 0.5 * ledFull);
    // Piecewise-constant energy: 1 h at 100% then 2 h at 50%.
    const m = new LuminaireModel(E, T0);
    m.setDimLevel(100);
    m.advance(HOUR);
    m.setDimLevel(50);
    m.advance(2 * HOUR);
    assert.ok(Math.abs(m.groundTruthWh - (p100 + 2 * p50)) < 1e-9);
  });

  it('draws standby power when off and does not count operating hours', () => {
    const m = new LuminaireModel(E, T0);
    m.setDimLevel(0);
    m.advance(2 * HOUR);
    assert.ok(Math.abs(m.energyCounterWh - 1) < 1e-12);
    assert.equal(m.operatingHours, 0);
  });

  it('counts switch-ons only on off → lit transitions', () => {
    const m = new LuminaireModel(E, T0);
    for (const level of [0, 100, 50, 100, 0, 0, 30, 0, 100]) {
      m.setDimLevel(level);
      m.advance(60_000);
    }
    assert.equal(m.switchOnCounter, 3);
  });

  it('a counter reset restarts the counter but keeps the ground truth', () => {
    const m = new LuminaireModel(E, T0);
    m.setDimLevel(100);
    m.advance(HOUR);
    m.resetEnergyCounter();
    m.advance(HOUR);
    assert.ok(Math.abs(m.energyCounterWh - 90) < 1e-9);
    assert.ok(Math.abs(m.groundTruthWh - 180) < 1e-9);
  });

  it('lamp failure: dark, ~standby power, status lampFailure', () => {
    const m = new LuminaireModel(E, T0);
    m.setDimLevel(100);
    m.injectFault('lampFailure');
    assert.equal(m.lit, false);
    assert.equal(m.powerW, 0.5);
    assert.equal(m.status, 'lampFailure');
    m.advance(HOUR);
    assert.equal(m.operatingHours, 0);
    m.clearFault('lampFailure');
    assert.equal(m.status, 'ok');
    assert.equal(m.powerW, 90);
  });

  it('day burner stays at full power whatever it is told', () => {
    const m = new LuminaireModel(E, T0);
    m.setDimLevel(0);
    m.injectFault('dayBurner');
    assert.equal(m.powerW, 90);
    assert.equal(m.status, 'dayBurner');
  });

  it('cycling failure toggles the lamp and counts each switch-on', () => {
    const m = new LuminaireModel(E, T0);
    m.setDimLevel(100);
    m.advance(10_000);
    m.injectFault('cyclingFailure');
    const steps = (4 * CYCLING_HALF_PERIOD_MS) / 10_000;
    let litSteps = 0;
    for (let i = 0; i < steps; i++) {
      if (m.lit) litSteps++;
      m.advance(10_000);
    }
    assert.equal(litSteps, steps / 2);
    assert.equal(m.switchOnCounter, 3); // initial on + 2 relights after off phases (third starts now)
    assert.equal(m.status, 'cyclingFailure');
  });

  it('supply loss: no power, no energy, no reading', () => {
    const m = new LuminaireModel(E, T0);
    m.setDimLevel(100);
    m.injectFault('supplyLoss');
    m.advance(HOUR);
    assert.equal(m.groundTruthWh, 0);
    assert.equal(m.reading('x', mulberry32(1)), null);
  });

  it('readings are valid, current = P / (V · PF), voltage near the supply', () => {
    const m = new LuminaireModel(E, T0);
    m.setDimLevel(40);
    m.advance(HOUR);
    const rng = mulberry32(7);
    for (let i = 0; i < 50; i++) {
      const r = m.reading('cps-gw1-lum-0001', rng);
      assert.ok(r);
      LuminaireReadingSchema.parse(r);
      assert.ok(r.voltage > 215 && r.voltage < 235);
      assert.ok(Math.abs(r.current - r.activePower / (r.voltage * r.powerFactor)) < 0.01);
      assert.ok(r.powerFactor < 0.98 && r.powerFactor > 0.8);
    }
  });
});
