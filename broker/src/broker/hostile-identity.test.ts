import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { main } from '../cli';
import { counterValue } from '../metrics';
import { closed, connect, refusalCode } from '../test-support/mqtt';
import { eventually, gateway, run, startHostileRig, SteadyPublisher, type HostileRig } from '../test-support/hostile-clients';

const quiet = { out: () => undefined, err: () => undefined };
const OFFERED = 100;
/** generous (the machine running the tests is shared): 30 % of the offered rate acknowledged during an attack */
const MIN_RATE = OFFERED * 0.3;

describe('broker: identities, publish limits, revoke/rotate, TLS', () => {
  let rig: HostileRig;
  let legit: MqttClient;
  let steady: SteadyPublisher;

  before(async () => {
    rig = await startHostileRig(['gw-ok', 'gw-victim', 'gw-flood', 'gw-ret', 'gw-rev', 'gw-rot'], ['dashboard'], {
      guard: { publish: { messagesPerSecond: 150, messagesBurst: 300 }, retained: { maxMessages: 5, maxBytes: 4096 } },
    });
    legit = await gateway(rig, 'gw-ok');
    steady = new SteadyPublisher(legit, 'poste/v1/gw/gw-ok/telemetry/luminaire', OFFERED).start();
  });
  after(async () => {
    steady.stop();
    await legit.endAsync(true).catch(() => undefined);
    await rig.close();
  });

  test("a service taking a gateway's client id is refused (CONNACK 2); the gateway stays connected", async () => {
    const victim = await gateway(rig, 'gw-victim');
    assert.equal(await refusalCode(rig.port, 'dashboard', rig.passwords.dashboard!, 'gw-victim'), 2);
    const sub = await run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(rig.port),
      '-i',
      'gw-victim',
      '-u',
      'dashboard',
      '-P',
      rig.passwords.dashboard!,
      '-t',
      'poste/v1/gw/#',
      '-C',
      '1',
      '-W',
      '3',
    ]);
    assert.notEqual(sub.code, 0, sub.out);
    // another gateway with the right password but someone else's client id
    assert.equal(await refusalCode(rig.port, 'gw-ok', rig.passwords['gw-ok']!, 'gw-victim'), 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(victim.connected, 'the victim was not taken over');
    await victim.publishAsync('poste/v1/gw/gw-victim/telemetry/luminaire', '{}', { qos: 1 });
    assert.ok((await counterValue(rig.broker.metrics.authFailures, { reason: 'client-id-not-owned' })) >= 2);
    // A service's own client ids still work (prefixed with its name, or assigned by the broker).
    const own = await connect(rig.port, 'dashboard', rig.passwords.dashboard!, 'dashboard-fleet-1');
    const assigned = await connect(rig.port, 'dashboard', rig.passwords.dashboard!, '');
    await own.endAsync();
    await assigned.endAsync();
    await victim.endAsync();
  });

  test('a publish flood disconnects the flooder; the steady gateway keeps its rate', async () => {
    const flooder = await gateway(rig, 'gw-flood');
    const gone = closed(flooder);
    const rate = steady.rateOver(1_500);
    for (let i = 0; i < 600 && flooder.connected; i++) flooder.publish('poste/v1/gw/gw-flood/telemetry/luminaire', '{}', { qos: 0 });
    await gone;
    assert.ok((await counterValue(rig.broker.metrics.publishRateExceeded, { limit: 'messages' })) >= 1);
    assert.ok((await rate) >= MIN_RATE, 'steady gateway kept ingesting');
  });

  test('retained quota: a sixth retained topic is refused; clearing one frees room', async () => {
    const c = await gateway(rig, 'gw-ret');
    for (let i = 0; i < 5; i++) await c.publishAsync(`poste/v1/gw/gw-ret/dev/d${i}/state`, '{"s":1}', { qos: 1, retain: true });
    assert.deepEqual(rig.broker.guard.retained.usage('gw-ret'), { messages: 5, bytes: 35 });
    const gone = closed(c);
    c.publish('poste/v1/gw/gw-ret/dev/d5/state', '{"s":1}', { qos: 1, retain: true });
    await gone;
    assert.equal(await counterValue(rig.broker.metrics.retainedQuotaExceeded, { limit: 'messages' }), 1);
    const again = await gateway(rig, 'gw-ret');
    await again.publishAsync('poste/v1/gw/gw-ret/dev/d0/state', '', { qos: 1, retain: true });
    await again.publishAsync('poste/v1/gw/gw-ret/dev/d5/state', '{"s":1}', { qos: 1, retain: true });
    assert.equal(rig.broker.guard.retained.usage('gw-ret').messages, 5);
    await again.endAsync();
  });

  test('revoke while connected: disconnected within seconds, refused on reconnect; ingest unaffected', async () => {
    const c = await gateway(rig, 'gw-rev');
    const gone = closed(c);
    assert.equal(await main(['revoke', '--credentials', rig.credentialsFile, '--id', 'gw-rev'], quiet), 0);
    const t0 = performance.now();
    await gone;
    assert.ok(performance.now() - t0 < 5_000);
    assert.equal(await refusalCode(rig.port, 'gw-rev', rig.passwords['gw-rev']!), 4);
    assert.ok((await counterValue(rig.broker.metrics.authFailures, { reason: 'revoked' })) >= 1);
    assert.equal(await counterValue(rig.broker.metrics.revokedDisconnects), 1);
    assert.ok((await steady.rateOver(1_000)) >= MIN_RATE);
  });

  test('rotate: the old password (even remembered by the login cache) is refused, the new one works', async () => {
    (await gateway(rig, 'gw-rot')).end(true); // now in the login cache
    const out: string[] = [];
    assert.equal(
      await main(['rotate', '--credentials', rig.credentialsFile, '--id', 'gw-rot'], { out: (l) => out.push(l), err: () => undefined }),
      0,
    );
    const fresh = out[0]!;
    assert.ok(await eventually(async () => (await refusalCode(rig.port, 'gw-rot', rig.passwords['gw-rot']!).catch(() => 0)) === 4));
    const c = await connect(rig.port, 'gw-rot', fresh);
    await c.endAsync();
    assert.equal(await main(['rotate', '--credentials', rig.credentialsFile, '--id', 'gw-nobody'], quiet), 3);
    const listed: string[] = [];
    assert.equal(await main(['list', '--credentials', rig.credentialsFile], { out: (l) => listed.push(l), err: () => undefined }), 0);
    assert.match(listed.find((l) => l.includes('gw-rev'))!, /revoked/);
    assert.match(listed.find((l) => l.includes('gw-rot'))!, /active\trotated /);
  });

  test('an invalid credentials file is refused with the reason; the credentials in force are kept', async () => {
    const before = await counterValue(rig.broker.metrics.credentialsReloads, { outcome: 'refused' });
    await writeFile(rig.credentialsFile, JSON.stringify({ version: 2, gateways: [{ id: 'gw-ok' }] }));
    assert.ok(await eventually(async () => (await counterValue(rig.broker.metrics.credentialsReloads, { outcome: 'refused' })) > before));
    const c = await gateway(rig, 'gw-victim');
    await c.endAsync();
    assert.ok(legit.connected);
  });

  test('TLS listener: mosquitto_pub --cafile publishes as the gateway; a wrong password over TLS is refused', async () => {
    const dir = rig.dir;
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const gen = await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]);
    assert.equal(gen.code, 0, gen.out);
    const tlsPort = await rig.broker.listenTls({ port: 0, cert: await readFile(cert), key: await readFile(key) });
    const before = rig.ingested.get('gw-victim') ?? 0;
    const pub = await run('mosquitto_pub', [
      '-h',
      'localhost',
      '-p',
      String(tlsPort),
      '--cafile',
      cert,
      '-i',
      'gw-victim',
      '-u',
      'gw-victim',
      '-P',
      rig.passwords['gw-victim']!,
      '-t',
      'poste/v1/gw/gw-victim/telemetry/luminaire',
      '-m',
      '{}',
      '-q',
      '1',
    ]);
    assert.equal(pub.code, 0, pub.out);
    assert.equal(rig.ingested.get('gw-victim'), before + 1);
    const wrong = await run('mosquitto_pub', [
      '-h',
      'localhost',
      '-p',
      String(tlsPort),
      '--cafile',
      cert,
      '-i',
      'gw-victim',
      '-u',
      'gw-victim',
      '-P',
      'wrong',
      '-t',
      'poste/v1/gw/gw-victim/x',
      '-m',
      '{}',
      '-q',
      '1',
    ]);
    assert.notEqual(wrong.code, 0);
  });
});
