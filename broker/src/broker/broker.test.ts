import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { CredentialsStore } from '../credentials/store';
import { counterValue } from '../metrics';
import { closed, connect, refusalCode, silentLogger } from '../test-support/mqtt';
import { createBroker, type PosteBroker } from './broker';

describe('broker: authentication and ACL against the real mqtt client', () => {
  let broker: PosteBroker;
  let port = 0;
  const pw: Record<string, string> = {};
  const clients: MqttClient[] = [];
  const track = (c: MqttClient) => {
    clients.push(c);
    return c;
  };

  before(async () => {
    let creds = CredentialsStore.empty();
    for (const [id, m] of [
      ['gw-1', 'belem'],
      ['gw-2', 'belem'],
    ] as const) {
      const r = await creds.withGateway(id, m);
      creds = r.store;
      pw[id] = r.password;
    }
    const s = await creds.withService('ops', 'ops-secret');
    creds = s.store;
    pw.ops = s.password;
    broker = await createBroker({ credentials: creds, logger: silentLogger, registry: new Registry() });
    port = await broker.listen(0);
  });
  after(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await broker.close();
  });

  test('a gateway with the right password connects', async () => {
    const c = track(await connect(port, 'gw-1', pw['gw-1']!));
    assert.ok(c.connected);
    assert.equal(await counterValue(broker.metrics.authSuccess, { role: 'gateway' }), 1);
  });

  test('wrong password and unknown gateway are refused (CONNACK 4) and counted by reason', async () => {
    assert.equal(await refusalCode(port, 'gw-1', 'not-the-password'), 4);
    assert.equal(await refusalCode(port, 'gw-404', 'whatever'), 4);
    assert.equal(await counterValue(broker.metrics.authFailures, { reason: 'bad-password' }), 1);
    assert.equal(await counterValue(broker.metrics.authFailures, { reason: 'unknown-user' }), 1);
  });

  test('a gateway must use its own id as client id (CONNACK 2, identifier rejected)', async () => {
    assert.equal(await refusalCode(port, 'gw-1', pw['gw-1']!, 'someone-else'), 2);
    assert.equal(await counterValue(broker.metrics.authFailures, { reason: 'client-id-mismatch' }), 1);
  });

  test("subscribing to another gateway's topics or $SYS is refused per filter", async () => {
    const c = track(await connect(port, 'gw-2', pw['gw-2']!));
    const granted = await new Promise<number[]>((resolve) => {
      // mqtt.js reports a 0x80 as an error, with the SUBACK's per-filter codes alongside.
      c.subscribe(['poste/v1/gw/gw-2/cmd', 'poste/v1/gw/gw-1/cmd', '$SYS/#', 'poste/v1/gw/#'], { qos: 1 }, (err, g) => {
        const suback = (err as { packet?: { granted?: unknown } } | null)?.packet?.granted;
        resolve(Array.isArray(suback) ? suback.map(Number) : (g ?? []).map((x) => x.qos));
      });
    });
    assert.deepEqual(granted, [1, 128, 128, 128]);
    assert.ok(c.connected, 'a refused filter does not disconnect');
  });

  test("publishing in another gateway's namespace is denied: not delivered, client disconnected", async () => {
    const ops = track(await connect(port, 'ops', pw.ops!));
    await ops.subscribeAsync('poste/v1/gw/#', { qos: 1 });
    const seen: string[] = [];
    ops.on('message', (topic) => seen.push(topic));

    const intruder = track(await connect(port, 'gw-1', pw['gw-1']!));
    const gone = closed(intruder);
    intruder.publish('poste/v1/gw/gw-2/telemetry/luminaire', '{}', { qos: 1 });
    await gone;
    assert.equal(await counterValue(broker.metrics.aclDenied, { action: 'publish', role: 'gateway' }), 1);

    // The own namespace works, and is the only thing the service sees.
    const honest = track(await connect(port, 'gw-2', pw['gw-2']!));
    await honest.publishAsync('poste/v1/gw/gw-2/telemetry/luminaire', '{}', { qos: 1 });
    await new Promise<void>((resolve) => (seen.length > 0 ? resolve() : ops.once('message', () => resolve())));
    assert.deepEqual(seen, ['poste/v1/gw/gw-2/telemetry/luminaire']);
  });

  test('a gateway may not publish its own southbound topics; a service may', async () => {
    const gw = track(await connect(port, 'gw-2', pw['gw-2']!));
    await gw.subscribeAsync('poste/v1/gw/gw-2/cmd', { qos: 1 });
    const got = new Promise<string>((resolve) => gw.once('message', (_t, payload) => resolve(payload.toString())));
    const ops = track(await connect(port, 'ops', pw.ops!));
    await ops.publishAsync('poste/v1/gw/gw-2/cmd', 'from-ops', { qos: 1 });
    assert.equal(await got, 'from-ops');

    const forger = track(await connect(port, 'gw-1', pw['gw-1']!));
    const gone = closed(forger);
    forger.publish('poste/v1/gw/gw-1/cmd', 'self-command', { qos: 1 });
    await gone;
  });

  test('Aedes 1.x acks QoS 1 before an in-process subscriber finishes (so ingest cannot ack-after-write there)', async () => {
    let release: (() => void) | undefined;
    const handled = new Promise<void>((resolve) => {
      broker.aedes.subscribe(
        'poste/v1/gw/gw-1/events',
        (_packet, cb) => {
          release = cb;
          resolve();
        },
        () => undefined,
      );
    });
    const gw = track(await connect(port, 'gw-1', pw['gw-1']!));
    // The PUBACK arrives although the handler still holds its callback: it is written before delivery.
    await gw.publishAsync('poste/v1/gw/gw-1/events', 'x', { qos: 1 });
    await handled;
    release!();
  });

  test('the publish gate holds the PUBACK until it resolves', async () => {
    let release: (() => void) | undefined;
    const entered = new Promise<string>((resolveEntered) => {
      broker.setPublishGate(
        (packet) =>
          new Promise<void>((resolve) => {
            release = resolve;
            resolveEntered(packet.topic);
          }),
      );
    });
    const gw = track(await connect(port, 'gw-2', pw['gw-2']!));
    let acked = false;
    const publishing = gw.publishAsync('poste/v1/gw/gw-2/telemetry/ap', 'z', { qos: 1 }).then(() => {
      acked = true;
    });
    assert.equal(await entered, 'poste/v1/gw/gw-2/telemetry/ap');
    // A full round trip on another connection (the service is not gated): an early PUBACK would be here by now.
    const ops = track(await connect(port, 'ops', pw.ops!));
    await ops.publishAsync('poste/v1/gw/gw-2/cmd', 'c', { qos: 1 });
    assert.equal(acked, false, 'no PUBACK while the gate is pending');
    release!();
    await publishing;
    assert.equal(acked, true);
    broker.setPublishGate(undefined);
  });

  test('a rejecting publish gate means no PUBACK: the client is disconnected and will resend', async () => {
    broker.setPublishGate(() => Promise.reject(new Error('store down')));
    const gw = track(await connect(port, 'gw-2', pw['gw-2']!));
    const gone = closed(gw);
    gw.publish('poste/v1/gw/gw-2/telemetry/ap', 'z', { qos: 1 });
    await gone;
    broker.setPublishGate(undefined);
  });
});
