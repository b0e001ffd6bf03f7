import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LuminaireReading } from '@poste/protocol';
import { apPoint, luminairePoint, SharedTags } from './points';

const reading = (device: string, group?: string): LuminaireReading => ({
  device,
  ts: 1,
  activePower: 1,
  activeEnergy: 1,
  dimLevel: 1,
  voltage: 1,
  current: 1,
  powerFactor: 1,
  operatingHours: 1,
  switchOnCounter: 1,
  status: 'ok',
  ...(group !== undefined && { group }),
});

describe('points with shared tags', () => {
  const o = { municipality: 'm', gateway: 'g' };

  it('give every point of a device one frozen tags object, equal to the unshared one', () => {
    const shared = new SharedTags('luminaire');
    const a = luminairePoint(o, reading('l1', 'g1'), shared);
    const b = luminairePoint(o, reading('l1', 'g1'), shared);
    assert.equal(a.tags, b.tags);
    assert.ok(Object.isFrozen(a.tags));
    assert.deepEqual(a, luminairePoint(o, reading('l1', 'g1')));
    assert.deepEqual(luminairePoint(o, reading('l2'), shared).tags, {
      municipality: 'm',
      gateway: 'g',
      luminaire: 'l2',
      group: 'ungrouped',
    });
    const ap = apPoint(
      o,
      {
        device: 'ap1',
        ts: 1,
        capacityKbps: 1,
        uptime: 1,
        clients: { household: 0, telemedicine: 0, public: 0 },
        bytes: { household: 0, telemedicine: 0, public: 0 },
      },
      new SharedTags('ap'),
    );
    assert.deepEqual(ap.tags, { municipality: 'm', gateway: 'g', ap: 'ap1' });
  });

  it('make a new object when the group, the municipality or the gateway differs', () => {
    const shared = new SharedTags('luminaire');
    const first = shared.of(o, 'l1', 'g1');
    assert.notEqual(shared.of(o, 'l1', 'g2'), first);
    assert.equal(shared.of(o, 'l1', 'g2').group, 'g2');
    assert.equal(shared.of({ municipality: 'n', gateway: 'g' }, 'l1', 'g2').municipality, 'n');
    assert.equal(shared.of({ municipality: 'n', gateway: 'h' }, 'l1', 'g2').gateway, 'h');
  });

  it('stay bounded: at the cap the cache is emptied and starts again', () => {
    const shared = new SharedTags('luminaire', 3);
    const l0 = shared.of(o, 'l0', 'g');
    for (let i = 1; i < 3; i++) shared.of(o, `l${i}`, 'g');
    assert.equal(shared.of(o, 'l0', 'g'), l0, 'still cached below the cap');
    shared.of(o, 'l3', 'g');
    const again = shared.of(o, 'l0', 'g');
    assert.notEqual(again, l0, 'emptied at the cap');
    assert.deepEqual(again, l0);
  });
});
