import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TimeZone, isoDateToDayNumber } from './time-zone';

describe('TimeZone (Intl-based, DST-correct)', () => {
  const sp = new TimeZone('America/Sao_Paulo');
  it('São Paulo 2018-11-04: DST began at midnight, so the day starts at 01:00 −02', () => {
    const day = isoDateToDayNumber('2018-11-04');
    assert.equal(new Date(sp.dayStartUtc(day)).toISOString(), '2018-11-04T03:00:00.000Z');
    assert.equal(new Date(sp.wallTimeToUtc(day, 23 * 60)).toISOString(), '2018-11-05T01:00:00.000Z');
    assert.equal(new Date(sp.wallTimeToUtc(day - 1, 23 * 60)).toISOString(), '2018-11-04T02:00:00.000Z');
  });
  it('São Paulo 2019-02-16: DST ended, 23:30 happened twice; the earlier wins', () => {
    const day = isoDateToDayNumber('2019-02-16');
    assert.equal(new Date(sp.wallTimeToUtc(day, 23 * 60 + 30)).toISOString(), '2019-02-17T01:30:00.000Z');
    assert.equal(new Date(sp.dayStartUtc(day + 1)).toISOString(), '2019-02-17T03:00:00.000Z');
  });
  it('New York 2024: spring gap lands after the gap, autumn overlap takes the first', () => {
    const ny = new TimeZone('America/New_York');
    assert.equal(new Date(ny.wallTimeToUtc(isoDateToDayNumber('2024-03-10'), 150)).toISOString(), '2024-03-10T07:30:00.000Z');
    assert.equal(new Date(ny.wallTimeToUtc(isoDateToDayNumber('2024-11-03'), 90)).toISOString(), '2024-11-03T05:30:00.000Z');
  });
  it('Lisbon 2024-03-31: 01:00 → 02:00 WEST', () => {
    const li = new TimeZone('Europe/Lisbon');
    assert.equal(li.offsetMs(Date.UTC(2024, 2, 31, 0, 59)), 0);
    assert.equal(li.offsetMs(Date.UTC(2024, 2, 31, 1, 0)), 3600_000);
    assert.equal(li.localDate(Date.UTC(2024, 2, 30, 23, 30)).day, 30);
  });
});
