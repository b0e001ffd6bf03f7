import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { offsetMsWith, wallClockFormatter } from '@poste/protocol';
import { loadZoneTable, parsePosixTz, parseTzif, SYSTEM_ZONEINFO_DIR, zoneOffsetMs, type ZoneTable } from './tzif';
import { TimeZone, isValidTimeZone } from './time-zone';

const HOUR_MS = 3_600_000;

/**
 * Zones with the cases that matter: southern DST (and its end), half and quarter hours, no DST, the
 * date line. Not Africa/Casablanca: Morocco's DST around Ramadan is a forecast each tzdata release
 * may redraw, and Node's ICU and the system's tzdata are different releases (Debian's tzdata 2026f
 * and Node 20's ICU disagree on 2026-09-20), so the comparison would test the releases, not the reader.
 */
const ZONES = [
  'America/Sao_Paulo',
  'America/Belem',
  'America/New_York',
  'Europe/Lisbon',
  'Europe/Berlin',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'America/Santiago',
  'Pacific/Apia',
  'UTC',
];

function systemTable(zone: string): ZoneTable {
  // The gateway's tz database is part of what is tested: without it this test fails, it does not skip.
  assert.ok(existsSync(join(SYSTEM_ZONEINFO_DIR, zone)), `${SYSTEM_ZONEINFO_DIR}/${zone} missing: install the tzdata package`);
  const table = loadZoneTable(zone);
  assert.ok(table !== null, `${zone}: TZif file did not parse`);
  return table;
}

describe('offsets from the system tz database (TZif) agree with ICU', () => {
  for (const zone of ZONES) {
    it(`${zone}: every 13 h 1975–2060 and around each transition`, () => {
      const table = systemTable(zone);
      const fmt = wallClockFormatter(zone);
      const check = (t: number): void => {
        assert.equal(zoneOffsetMs(table, t), offsetMsWith(fmt, t), `${zone} at ${new Date(t).toISOString()}`);
      };
      for (let t = Date.UTC(1975, 0, 1); t < Date.UTC(2060, 0, 1); t += 13 * HOUR_MS) check(t);
      for (const s of table.transitions) {
        if (s < Date.UTC(1975, 0, 1) / 1000) continue;
        check(s * 1000 - 1000);
        check(s * 1000);
      }
    });
  }
  it('TimeZone takes its rules from the tz database when the system has the zone', () => {
    assert.equal(new TimeZone('America/Sao_Paulo').rulesFrom, 'tzdb');
    // a spelling only ICU accepts (case-insensitive): the same zone, from Intl
    const icu = new TimeZone('america/sao_paulo');
    assert.equal(icu.rulesFrom, 'intl');
    assert.equal(icu.offsetMs(Date.UTC(2018, 11, 1)), new TimeZone('America/Sao_Paulo').offsetMs(Date.UTC(2018, 11, 1)));
  });
});

describe('zone names', () => {
  it('a path outside the tz database is not a zone', () => {
    assert.equal(loadZoneTable('../../../etc/passwd'), null);
    assert.equal(loadZoneTable('/etc/passwd'), null);
    assert.equal(loadZoneTable('America/../../../etc/passwd'), null);
    assert.equal(isValidTimeZone('../../../etc/passwd'), false);
  });
  it('unknown names are refused, known ones accepted', () => {
    assert.equal(isValidTimeZone('America/Atlantis'), false);
    assert.equal(isValidTimeZone('America/Sao_Paulo'), true);
  });
  it('leap-second (right/) zones are not read: civil time has no leap seconds', () => {
    const right = join(SYSTEM_ZONEINFO_DIR, 'right/America/Sao_Paulo');
    if (existsSync(right)) assert.throws(() => parseTzif(readFileSync(right)), /leap seconds/);
    assert.equal(loadZoneTable('right/America/Sao_Paulo'), null);
  });
  it('a file that is not TZif is refused', () => {
    assert.throws(() => parseTzif(Buffer.from('not a zone file at all, but long enough for a header of 44 bytes')), /no TZif header/);
  });
});

describe('POSIX TZ rules (the TZif footer: instants after the last transition)', () => {
  const table = (tz: string): ZoneTable => ({
    transitions: new Float64Array(),
    offsets: new Int32Array(),
    initial: 0,
    rule: parsePosixTz(tz),
  });
  it('fixed offsets, with <numeric> names', () => {
    assert.equal(zoneOffsetMs(table('<-03>3'), Date.UTC(2040, 0, 1)), -3 * HOUR_MS);
    assert.equal(zoneOffsetMs(table('<+0545>-5:45'), Date.UTC(2040, 0, 1)), (5 * 60 + 45) * 60_000);
  });
  it('northern DST (Mm.w.d, last Sunday, explicit times)', () => {
    const cet = table('CET-1CEST,M3.5.0,M10.5.0/3');
    // 2041: last Sunday of March is the 31st, of October the 27th; switches at 01:00 UTC
    assert.equal(zoneOffsetMs(cet, Date.UTC(2041, 2, 31, 0, 59)), HOUR_MS);
    assert.equal(zoneOffsetMs(cet, Date.UTC(2041, 2, 31, 1, 0)), 2 * HOUR_MS);
    assert.equal(zoneOffsetMs(cet, Date.UTC(2041, 9, 27, 0, 59)), 2 * HOUR_MS);
    assert.equal(zoneOffsetMs(cet, Date.UTC(2041, 9, 27, 1, 0)), HOUR_MS);
  });
  it('southern DST spans the new year', () => {
    const syd = table('AEST-10AEDT,M10.1.0,M4.1.0/3');
    assert.equal(zoneOffsetMs(syd, Date.UTC(2042, 0, 15)), 11 * HOUR_MS);
    assert.equal(zoneOffsetMs(syd, Date.UTC(2042, 6, 15)), 10 * HOUR_MS);
    assert.equal(zoneOffsetMs(syd, Date.UTC(2042, 11, 15)), 11 * HOUR_MS);
  });
  it('Jn days skip February 29; zero-based days and hours beyond 24 (RFC 8536 extension)', () => {
    // J60 is March 1 in a leap year too
    const j = table('XST0XDT,J60/0,J300/0');
    assert.equal(zoneOffsetMs(j, Date.UTC(2044, 1, 29, 12)), 0);
    assert.equal(zoneOffsetMs(j, Date.UTC(2044, 2, 1, 0, 30)), HOUR_MS);
    // all year DST: starts Jan 1 00:00, ends Dec 31 25:00 (after the year)
    const permanent = table('EST5EDT,0/0,J365/25');
    assert.equal(zoneOffsetMs(permanent, Date.UTC(2045, 5, 1)), -4 * HOUR_MS);
    assert.equal(zoneOffsetMs(permanent, Date.UTC(2045, 11, 31, 23)), -4 * HOUR_MS);
  });
  it('malformed rules are refused with where', () => {
    assert.throws(() => parsePosixTz('CET-1CEST,M3.5.0'), /DST end expected/);
    assert.throws(() => parsePosixTz('<-03'), /unclosed/);
    assert.throws(() => parsePosixTz('12'), /abbreviation/);
  });
});
