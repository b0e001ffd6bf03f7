import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Principal } from '../credentials/store';
import { canPublish, canSubscribe } from './acl';

const gw: Principal = { role: 'gateway', id: 'gw-1', municipality: 'belem' };
const svc: Principal = { role: 'service', username: 'dashboard' };

test('gateway publishes only in its own namespace, never its southbound topics', () => {
  assert.ok(canPublish(gw, 'poste/v1/gw/gw-1/telemetry/luminaire'));
  assert.ok(canPublish(gw, 'poste/v1/gw/gw-1/ack'));
  assert.ok(canPublish(gw, 'poste/v1/gw/gw-1/config/reported'));
  assert.ok(!canPublish(gw, 'poste/v1/gw/gw-1/cmd'));
  assert.ok(!canPublish(gw, 'poste/v1/gw/gw-1/config/desired'));
  assert.ok(!canPublish(gw, 'poste/v1/gw/gw-2/telemetry/luminaire'));
  assert.ok(!canPublish(gw, 'poste/v1/gw/gw-10/telemetry/luminaire'));
  assert.ok(!canPublish(gw, 'poste/v1/gw/gw-1'));
  assert.ok(!canPublish(gw, '$SYS/broker/uptime'));
  assert.ok(!canPublish(gw, 'other/topic'));
});

test('gateway subscribes only to its own cmd and config/desired', () => {
  assert.ok(canSubscribe(gw, 'poste/v1/gw/gw-1/cmd'));
  assert.ok(canSubscribe(gw, 'poste/v1/gw/gw-1/config/desired'));
  assert.ok(!canSubscribe(gw, 'poste/v1/gw/gw-1/#'));
  assert.ok(!canSubscribe(gw, 'poste/v1/gw/+/cmd'));
  assert.ok(!canSubscribe(gw, 'poste/v1/gw/gw-2/cmd'));
  assert.ok(!canSubscribe(gw, '#'));
  assert.ok(!canSubscribe(gw, '$SYS/#'));
});

test('service publishes southbound to any gateway and subscribes under poste/v1/gw/ only', () => {
  assert.ok(canPublish(svc, 'poste/v1/gw/gw-7/cmd'));
  assert.ok(canPublish(svc, 'poste/v1/gw/gw-7/config/desired'));
  assert.ok(!canPublish(svc, 'poste/v1/gw/gw-7/telemetry/luminaire'));
  assert.ok(!canPublish(svc, 'poste/v1/gw/gw-7/state'));
  assert.ok(canSubscribe(svc, 'poste/v1/gw/#'));
  assert.ok(canSubscribe(svc, 'poste/v1/gw/+/telemetry/luminaire'));
  assert.ok(!canSubscribe(svc, '#'));
  assert.ok(!canSubscribe(svc, '$SYS/#'));
  assert.ok(!canSubscribe(svc, 'poste/v1/dev/+/state'));
});
