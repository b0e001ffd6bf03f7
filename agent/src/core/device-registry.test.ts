import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceRegistry } from './device-registry';
import { deviceState } from './test-support';

test('registry: a birth registers the device with its metadata', () => {
  const reg = new DeviceRegistry();
  reg.apply('lum-1', deviceState('luminaire', 'online', { group: 'main-st', model: 'X1', nominalPowerW: 80 }), 'poste');
  reg.apply('ap-1', deviceState('ap', 'online'), 'poste');
  const d = reg.get('lum-1');
  assert.equal(d?.kind, 'luminaire');
  assert.equal(d?.status, 'online');
  assert.equal(d?.group, 'main-st');
  assert.equal(d?.nominalPowerW, 80);
  assert.deepEqual(reg.counts(), { luminaires: 1, aps: 1 });
});

test('registry: a bare will marks offline but keeps what the birth said', () => {
  const reg = new DeviceRegistry();
  reg.apply('lum-1', deviceState('luminaire', 'online', { group: 'g1', model: 'X1' }), 'poste');
  reg.apply('lum-1', deviceState('luminaire', 'offline'), 'poste');
  const d = reg.get('lum-1');
  assert.equal(d?.status, 'offline');
  assert.equal(d?.group, 'g1');
  assert.equal(d?.state.model, 'X1');
});

test('registry: luminairesInGroup lists only luminaires of that group', () => {
  const reg = new DeviceRegistry();
  reg.apply('a', deviceState('luminaire', 'online', { group: 'g1' }), 'poste');
  reg.apply('b', deviceState('luminaire', 'online', { group: 'g2' }), 'poste');
  reg.apply('c', deviceState('ap', 'online', { group: 'g1' }), 'poste');
  reg.apply('d', deviceState('luminaire', 'offline', { group: 'g1' }), 'poste');
  assert.deepEqual(
    reg
      .luminairesInGroup('g1')
      .map((d) => d.id)
      .sort(),
    ['a', 'd'],
  );
});

test('registry: snapshots are copies', () => {
  const reg = new DeviceRegistry();
  reg.apply('a', deviceState('luminaire', 'online'), 'poste');
  const snap = reg.snapshot();
  snap[0]!.status = 'offline';
  assert.equal(reg.get('a')?.status, 'online');
});
