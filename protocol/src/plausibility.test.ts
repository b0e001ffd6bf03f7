import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeLuminaireBatch, parseJson } from './decode';
import { MAX_JSON_DEPTH, checkJsonBounds, jsonBoundExceeded } from './json-bounds';
import {
  AP_BOUNDS,
  LUMINAIRE_BOUNDS,
  checkApBounds,
  checkApStep,
  checkEventValue,
  checkLuminaireBounds,
  checkLuminaireStep,
  checkTimestamp,
} from './plausibility';
import type { ApReading, LuminaireReading } from './telemetry';

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

const lum = (over: Partial<LuminaireReading> = {}): LuminaireReading => ({
  device: 'lum-1',
  ts: T0,
  activePower: 90,
  activeEnergy: 10_000,
  dimLevel: 100,
  voltage: 220,
  current: 0.43,
  powerFactor: 0.95,
  operatingHours: 1_000,
  switchOnCounter: 300,
  status: 'ok',
  ...over,
});

const ap = (over: Partial<ApReading> = {}): ApReading => ({
  device: 'ap-1',
  ts: T0,
  capacityKbps: 50_000,
  uptime: 3_600,
  clients: { household: 3, telemedicine: 1, public: 7 },
  bytes: { household: 1e9, telemedicine: 2e6, public: 5e8 },
  ...over,
});

describe('plausibility: absolute bounds', () => {
  it('passes a real reading and refuses each implausible field by name', () => {
    assert.equal(checkLuminaireBounds(lum()), null);
    assert.equal(checkLuminaireBounds(lum({ activeEnergy: 1e308 }))?.path, 'activeEnergy');
    assert.equal(checkLuminaireBounds(lum({ activePower: LUMINAIRE_BOUNDS.maxActivePowerW + 1 }))?.path, 'activePower');
    assert.equal(checkLuminaireBounds(lum({ voltage: 900 }))?.path, 'voltage');
    assert.equal(checkLuminaireBounds(lum({ current: 100 }))?.path, 'current');
    assert.equal(checkLuminaireBounds(lum({ operatingHours: 1e7 }))?.path, 'operatingHours');
    assert.equal(checkLuminaireBounds(lum({ switchOnCounter: 1e9 }))?.path, 'switchOnCounter');
    assert.match(checkLuminaireBounds(lum({ activeEnergy: 1e308 }))!.reason, /implausible: 1e\+308 Wh is over 1000000000 Wh/);
  });

  it('bounds the optional coproduction figures by the reading’s uptime', () => {
    const co = {
      v: 1 as const,
      telemedicineSessions: 12,
      telemedicineSessionsActive: 1,
      reserveKbps: 25_000,
      reserveMeasuredS: 3_600,
      reserveHonouredS: 3_500,
    };
    assert.equal(checkApBounds(ap({ coproduction: co })), null);
    const path = (over: Partial<typeof co>) => checkApBounds(ap({ coproduction: { ...co, ...over } }))?.path;
    assert.equal(path({ telemedicineSessions: 3_600 + AP_BOUNDS.sessionStartAllowance + 1 }), 'coproduction.telemedicineSessions');
    assert.equal(path({ telemedicineSessionsActive: 5_000 }), 'coproduction.telemedicineSessionsActive');
    assert.equal(path({ reserveKbps: AP_BOUNDS.maxCapacityKbps + 1 }), 'coproduction.reserveKbps');
    assert.equal(checkApBounds(ap({ capacityKbps: 0, coproduction: co })), null, 'an AP that cannot measure its uplink keeps its figures');
    assert.equal(
      path({ reserveMeasuredS: 3_600 + AP_BOUNDS.reserveSecondsAllowanceS + 1, reserveHonouredS: 0 }),
      'coproduction.reserveMeasuredS',
    );
    assert.equal(path({ reserveHonouredS: 3_601 }), 'coproduction.reserveHonouredS');
    assert.match(
      checkApBounds(ap({ coproduction: { ...co, reserveHonouredS: 3_601 } }))!.reason,
      /implausible: 3601 s \(reserveMeasuredS\) is over 3600 s/,
    );
  });

  it('bounds AP figures per class, and event magnitudes', () => {
    assert.equal(checkApBounds(ap()), null);
    assert.equal(checkApBounds(ap({ clients: { household: 1, telemedicine: 5_000, public: 0 } }))?.path, 'clients.telemedicine');
    assert.equal(checkApBounds(ap({ bytes: { household: 2 ** 60, telemedicine: 0, public: 0 } }))?.path, 'bytes.household');
    assert.equal(checkApBounds(ap({ capacityKbps: AP_BOUNDS.maxCapacityKbps * 2 }))?.path, 'capacityKbps');
    assert.equal(checkEventValue(undefined), null);
    assert.equal(checkEventValue(42), null);
    assert.equal(checkEventValue(-1e300)?.path, 'value');
  });
});

describe('plausibility: steps per interval', () => {
  const prev = { ts: T0, activeEnergy: 10_000, operatingHours: 1_000, switchOnCounter: 300 };

  it('lets energy rise at the rated power and refuses a faster rise', () => {
    // 90 W for an hour: 90 Wh; the bound at 90 W rated is 90 × 1.25 + 5 = 117.5 Wh
    assert.equal(checkLuminaireStep(prev, lum({ ts: T0 + HOUR, activeEnergy: 10_090, operatingHours: 1_001 }), 90), null);
    const e = checkLuminaireStep(prev, lum({ ts: T0 + HOUR, activeEnergy: 10_200, operatingHours: 1_001 }), 90);
    assert.equal(e?.path, 'activeEnergy');
    assert.match(e!.reason, /rose 200 Wh in 3600 s, at most 117\.5 Wh/);
  });

  it('treats a lower counter as a reset from zero, stepped from zero', () => {
    assert.equal(checkLuminaireStep(prev, lum({ ts: T0 + HOUR, activeEnergy: 50, operatingHours: 1 }), 90), null);
    assert.equal(checkLuminaireStep(prev, lum({ ts: T0 + HOUR, activeEnergy: 5_000, operatingHours: 1 }), 90)?.path, 'activeEnergy');
  });

  it('bounds operating hours by the clock and switch-ons by one per second', () => {
    assert.equal(checkLuminaireStep(prev, lum({ ts: T0 + HOUR, activeEnergy: 10_000, operatingHours: 1_003 }), 90)?.path, 'operatingHours');
    assert.equal(
      checkLuminaireStep(prev, lum({ ts: T0 + 10_000, activeEnergy: 10_000, switchOnCounter: 400 }), 90)?.path,
      'switchOnCounter',
    );
  });

  it('does not step an older reading (a spool replaying) — absolute bounds judge it', () => {
    assert.equal(checkLuminaireStep(prev, lum({ ts: T0 - HOUR, activeEnergy: 900_000 }), 90), null);
  });

  it('bounds AP bytes by the link rate and uptime by the clock', () => {
    const p = { ts: T0, uptime: 3_600, bytes: 1e9 };
    const minute = T0 + 60_000;
    const atLink = AP_BOUNDS.maxLinkBytesPerS * 60;
    assert.equal(
      checkApStep(p, ap({ ts: minute, uptime: 3_660, bytes: { household: 1e9 + atLink / 2, telemedicine: 0, public: 0 } })),
      null,
    );
    const tooMuch = checkApStep(p, ap({ ts: minute, uptime: 3_660, bytes: { household: 1e9 + atLink * 2, telemedicine: 0, public: 0 } }));
    assert.equal(tooMuch?.path, 'bytes');
    assert.equal(checkApStep(p, ap({ ts: minute, uptime: 90_000 }))?.path, 'uptime');
  });
});

describe('plausibility: timestamps', () => {
  const now = T0 + 24 * HOUR;
  it('refuses beyond the skew into the future, and before the birth', () => {
    assert.equal(checkTimestamp(now + 60_000, now, 300_000, undefined), null);
    assert.equal(checkTimestamp(Date.UTC(9999, 0, 1), now, 300_000, undefined)?.reason, 'future-timestamp');
    assert.match(checkTimestamp(1e300, now, 300_000, undefined)!.error.reason, /1e\+300 ms is more than/);
    assert.equal(checkTimestamp(T0 - 25 * HOUR, now, 300_000, T0)?.reason, 'before-birth');
    assert.equal(checkTimestamp(T0 - 23 * HOUR, now, 300_000, T0), null, 'readings buffered while booting predate the birth');
    assert.equal(checkTimestamp(T0 - 2 * HOUR, now, 300_000, T0, HOUR)?.reason, 'before-birth');
  });
});

describe('JSON bounds before parsing', () => {
  it('refuses a 200,000-deep payload without recursing, and ignores brackets inside strings', () => {
    const deep = `{"v":1,"seq":0,"readings":[${'['.repeat(200_000)}${']'.repeat(200_000)}]}`;
    const r = decodeLuminaireBatch(deep);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && jsonBoundExceeded(r.error) === 'too-deep', JSON.stringify(r));
    assert.equal(checkJsonBounds(Buffer.from(JSON.stringify({ s: '['.repeat(1_000) }))), null);
    assert.equal(checkJsonBounds(Buffer.from(JSON.stringify({ s: '\\"[[[[' }))), null);
    const atLimit = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
    assert.equal(parseJson(atLimit).ok, true);
    assert.equal(parseJson(`[${atLimit}]`).ok, false);
  });

  it('refuses an oversized payload before parsing it', () => {
    const e = checkJsonBounds(Buffer.alloc(100, 0x20), { maxBytes: 50 });
    assert.ok(e && jsonBoundExceeded(e) === 'too-large');
  });
});
