import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TOPICS, gatewayNamespace, parseTopic, topic, topicFilter, type TopicKind } from './topics';

describe('topics', () => {
  it('builds and parses every topic kind back to the same kind and params', () => {
    for (const kind of Object.keys(TOPICS) as TopicKind[]) {
      const params = { gateway: 'gw-sp-01', device: 'lum.0001' };
      const t = topic(kind, params as never);
      const parsed = parseTopic(t);
      assert.ok(parsed, `parse ${t}`);
      assert.equal(parsed.kind, kind);
      for (const [name, value] of Object.entries(parsed.params)) {
        assert.equal(value, params[name as keyof typeof params]);
      }
    }
  });

  it('puts every northbound topic inside the gateway namespace, so one ACL rule isolates gateways', () => {
    const ns = gatewayNamespace('gw7');
    assert.ok(topic('luminaireTelemetry', { gateway: 'gw7' }).startsWith(ns));
    assert.ok(topic('deviceState', { gateway: 'gw7', device: 'd1' }).startsWith(ns));
    assert.ok(topic('command', { gateway: 'gw7' }).startsWith(ns));
  });

  it('refuses ids that would break topic structure', () => {
    assert.throws(() => topic('gatewayState', { gateway: 'a/b' }), /invalid gateway/);
    assert.throws(() => topic('gatewayState', { gateway: '+' }), /invalid gateway/);
    assert.throws(() => topic('gatewayState', { gateway: '' }), /invalid gateway/);
  });

  it('returns null for foreign or malformed topics', () => {
    assert.equal(parseTopic('$SYS/broker/uptime'), null);
    assert.equal(parseTopic('poste/v2/gw/a/state'), null);
    assert.equal(parseTopic('poste/v1/gw/a/state/extra'), null);
    assert.equal(parseTopic('poste/v1/gw/+/state'), null);
  });

  it('builds wildcard filters', () => {
    assert.equal(topicFilter('deviceState'), 'poste/v1/gw/+/dev/+/state');
    assert.equal(topicFilter('deviceState', { gateway: 'g1' }), 'poste/v1/gw/g1/dev/+/state');
  });
});
