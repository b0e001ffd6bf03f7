// Issue 8, item 6: the agent's LAN endpoint against hostile clients on the gateway's LAN —
// mosquitto_sub, mosquitto_pub and raw sockets as the attacker. Each case asserts the refusal, its
// counter in /metrics, and that a legitimate device keeps getting through meanwhile: it offers a
// steady 20 readings/s, and the rate acknowledged during the attack must be at least half the rate
// acknowledged in the second before it (same machine load; idle, both are the full 20/s).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import mqttPacket from 'mqtt-packet';
import { encode, topic } from '@poste/protocol';
import { waitFor } from './harness/free-port';
import { luminaireReading, runTool, secretOf, startLanRig, steadyDevice, type LanRig, type SteadyDevice } from './lan-rig';

const OFFERED = 20;
const KEPT = 0.5;
const MAX_PAYLOAD = 16 * 1024;

describe('LAN endpoint with device credentials, against hostile clients', () => {
  let rig: LanRig;
  let lum: SteadyDevice;
  const host = ['-h', '127.0.0.1'];
  const as = (id: string, password = secretOf(id)): string[] => ['-i', id, '-u', id, '-P', password];

  before(async () => {
    rig = await startLanRig(['lum-1', 'lum-evil'], {
      maxPayloadBytes: MAX_PAYLOAD,
      publishPerSecond: 100,
      publishBurst: 100,
      maxWaitMs: 500,
    });
    lum = await steadyDevice(rig.port, 'lum-1', OFFERED);
    await waitFor('lum-1 registered', () => rig.agent.devices().some((d) => d.id === 'lum-1' && d.status === 'online'));
  });
  after(async () => {
    lum?.stop();
    await rig?.close();
  });

  const keptUp = (r: { perSecond: number; baseline: number; offered: number }, what: string): void =>
    assert.ok(
      r.baseline > 0 && r.perSecond >= KEPT * r.baseline,
      `${what}: lum-1 acknowledged ${r.perSecond.toFixed(1)}/s during the attack, ${r.baseline.toFixed(1)}/s before (${r.offered}/s offered)`,
    );

  it('anonymous mosquitto_sub on # is refused at CONNECT; a device with credentials is refused # (SUBACK 0x80) and never sees a command for another device', async () => {
    const creds = await rig.refused('bad-credentials');
    const ids = await rig.refused('client-id');
    const rate = await lum.rateDuring(async () => {
      // mosquitto_sub's own default: an empty client id (a device must name itself: CONNACK 2) ...
      const unnamed = await runTool('mosquitto_sub', [...host, '-p', String(rig.port), '-t', '#', '-C', '1', '-W', '2']);
      assert.notEqual(unnamed.code, 0);
      assert.match(unnamed.stderr, /identifier rejected/i);
      // ... and with an id but no credentials (CONNACK 4).
      const anon = await runTool('mosquitto_sub', [...host, '-p', String(rig.port), '-i', 'intruder', '-t', '#', '-C', '1', '-W', '2']);
      assert.notEqual(anon.code, 0);
      assert.match(anon.stderr, /bad user name or password/i);
    });
    keptUp(rate, 'anonymous subscribe');
    assert.equal(await rig.refused('client-id'), ids + 1);
    assert.equal(await rig.refused('bad-credentials'), creds + 1);

    const subBefore = await rig.refused('subscribe-topic');
    const evil = runTool('mosquitto_sub', [
      ...host,
      '-p',
      String(rig.port),
      ...as('lum-evil'),
      '-t',
      '#',
      '-t',
      'poste/v1/dev/lum-1/cmd',
      '-W',
      '3',
      '-v',
    ]);
    await waitFor('both filters refused', async () => (await rig.refused('subscribe-topic')) === subBefore + 2, 5_000);
    const ack = await rig.agent.commandDevice('lum-1', { action: 'identify', durationS: 5 });
    assert.equal(ack.outcome, 'done', 'lum-1 still commanded');
    const out = await evil;
    assert.doesNotMatch(out.stdout, /lum-1\/cmd/, 'the attacker saw no command');
  });

  it('forged telemetry, offline state and ack for another device: refused, counted, and the agent believes none of it', async () => {
    const before = await rig.refused('publish-topic');
    const readingsBefore = rig.agent.stats().inbox.luminaireReadings;
    const forged = [
      ['poste/v1/dev/lum-1/telemetry', JSON.stringify(luminaireReading('lum-1', Date.now()))],
      ['poste/v1/dev/lum-1/state', JSON.stringify({ v: 1, kind: 'luminaire', status: 'offline', seq: 9, ts: Date.now() })],
      ['poste/v1/dev/lum-1/ack', JSON.stringify({ v: 1, id: 'x', outcome: 'done', ts: Date.now() })],
    ] as const;
    const rate = await lum.rateDuring(async () => {
      for (const [t, m] of forged) {
        const r = await runTool('mosquitto_pub', [...host, '-p', String(rig.port), ...as('lum-evil'), '-q', '1', '-t', t, '-m', m]);
        assert.notEqual(r.code, 0, `${t}: the broker dropped the forger without a PUBACK`);
      }
    });
    keptUp(rate, 'forgery');
    assert.equal(await rig.refused('publish-topic'), before + 3);
    assert.equal(rig.agent.devices().find((d) => d.id === 'lum-1')?.status, 'online', 'the forged offline state was not believed');
    const own = rig.agent.stats().inbox.luminaireReadings - readingsBefore;
    assert.ok(own <= lum.acked, 'no reading beyond lum-1’s own');
    assert.equal(
      rig.agent.devices().find((d) => d.id === 'lum-evil'),
      undefined,
      'the forger registered nothing',
    );
  });

  it('client-id takeover: anonymous or another device’s login with lum-1’s client id is refused (CONNACK 4 / 2); lum-1 stays connected', async () => {
    const ids = await rig.refused('client-id');
    const creds = await rig.refused('bad-credentials');
    const rate = await lum.rateDuring(async () => {
      const anon = await runTool('mosquitto_pub', [...host, '-p', String(rig.port), '-i', 'lum-1', '-t', 'x', '-m', 'x']);
      assert.notEqual(anon.code, 0);
      const other = await runTool('mosquitto_pub', [
        ...host,
        '-p',
        String(rig.port),
        '-i',
        'lum-1',
        '-u',
        'lum-evil',
        '-P',
        secretOf('lum-evil'),
        '-t',
        'x',
        '-m',
        'x',
      ]);
      assert.notEqual(other.code, 0);
      assert.match(other.stderr, /identifier rejected/i);
      const guessed = await runTool('mosquitto_pub', [
        ...host,
        '-p',
        String(rig.port),
        ...as('lum-1', 'guess-guess-guess'),
        '-t',
        'x',
        '-m',
        'x',
      ]);
      assert.notEqual(guessed.code, 0);
    });
    keptUp(rate, 'takeover');
    assert.equal(lum.closed, false, 'lum-1 was never kicked');
    assert.equal(await rig.refused('client-id'), ids + 1);
    assert.equal(await rig.refused('bad-credentials'), creds + 2);
  });

  it('oversize payloads: mosquitto_pub -f of 1 MB and a raw PUBLISH announcing 50 MB are cut off while arriving; retaining telemetry is refused', async () => {
    const big = join(rig.dir, 'big.json');
    writeFileSync(big, JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }));
    const tooLarge = await rig.refused('packet-too-large');
    const heapBefore = process.memoryUsage().heapUsed;
    const rate = await lum.rateDuring(async () => {
      const r = await runTool('mosquitto_pub', [
        ...host,
        '-p',
        String(rig.port),
        ...as('lum-evil'),
        '-q',
        '1',
        '-t',
        'poste/v1/dev/lum-evil/telemetry',
        '-f',
        big,
      ]);
      assert.notEqual(r.code, 0);
      // A raw client logs in, then announces a 50 MB PUBLISH and sends its first kilobytes.
      await new Promise<void>((resolve) => {
        const s = tcpConnect(rig.port, '127.0.0.1');
        s.on('error', () => undefined);
        s.resume(); // read what the broker sends, so its close is seen
        s.on('close', () => resolve());
        s.on('connect', () => {
          s.write(
            mqttPacket.generate({
              cmd: 'connect',
              protocolId: 'MQTT',
              protocolVersion: 4,
              clean: true,
              clientId: 'lum-evil',
              keepalive: 0,
              username: 'lum-evil',
              password: Buffer.from(secretOf('lum-evil')),
            }),
          );
          const header = Buffer.from([0x30, 0x80, 0x80, 0x80, 0x18]); // PUBLISH, remaining length 50,331,648
          setTimeout(() => s.write(Buffer.concat([header, Buffer.alloc(4_096, 0x41)])), 100);
        });
      });
    });
    keptUp(rate, 'oversize');
    assert.equal(await rig.refused('packet-too-large'), tooLarge + 2);
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 20 * 1024 * 1024, 'nothing near the announced size was buffered');

    const retain = await rig.refused('retain');
    const r = await runTool('mosquitto_pub', [
      ...host,
      '-p',
      String(rig.port),
      ...as('lum-evil'),
      '-q',
      '1',
      '-r',
      '-t',
      'poste/v1/dev/lum-evil/telemetry',
      '-m',
      JSON.stringify(luminaireReading('lum-evil', Date.now())),
    ]);
    assert.notEqual(r.code, 0);
    assert.equal(await rig.refused('retain'), retain + 1);
  });

  it('a forged PUBLISH and SUBSCRIBE sent right behind a CONNECT with a wrong secret (one TCP write) go nowhere: the login is refused first', async () => {
    const before = await rig.refused('bad-credentials');
    const readings = rig.agent.stats().inbox.luminaireReadings;
    await new Promise<void>((resolve) => {
      const s = tcpConnect(rig.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.resume();
      s.on('close', () => resolve());
      s.on('connect', () =>
        s.write(
          Buffer.concat([
            mqttPacket.generate({
              cmd: 'connect',
              protocolId: 'MQTT',
              protocolVersion: 4,
              clean: true,
              clientId: 'lum-1',
              keepalive: 0,
              username: 'lum-1',
              password: Buffer.from('wrong-wrong-wrong'),
            }),
            mqttPacket.generate({
              cmd: 'publish',
              topic: topic('localTelemetry', { device: 'lum-1' }),
              payload: encode(luminaireReading('lum-1', Date.now())),
              qos: 1,
              messageId: 7,
              retain: false,
              dup: false,
            }),
            mqttPacket.generate({ cmd: 'subscribe', messageId: 8, subscriptions: [{ topic: '#', qos: 0 }] }),
          ]),
        ),
      );
    });
    assert.equal(await rig.refused('bad-credentials'), before + 1);
    const extra = rig.agent.stats().inbox.luminaireReadings - readings;
    assert.ok(extra <= OFFERED * 2, 'only lum-1’s own steady readings arrived meanwhile');
    assert.equal(lum.closed, false);
  });

  it('publish flood: a raw client sending QoS 0 readings as fast as it can is slowed, then disconnected; lum-1 keeps its rate', async () => {
    const before = await rig.refused('rate');
    let sent = 0;
    const rate = await lum.rateDuring(
      () =>
        new Promise<void>((resolve) => {
          const s = tcpConnect(rig.port, '127.0.0.1');
          s.on('error', () => undefined);
          s.on('close', () => resolve());
          const packet = mqttPacket.generate({
            cmd: 'publish',
            topic: topic('localTelemetry', { device: 'lum-evil' }),
            payload: encode(luminaireReading('lum-evil', Date.now())),
            qos: 0,
            retain: false,
            dup: false,
          });
          const flood = (): void => {
            while (!s.destroyed && s.write(packet)) sent++;
            if (!s.destroyed) s.once('drain', flood);
          };
          // Logged in as itself (its CONNACK first), then as fast as the socket takes them.
          s.once('data', flood);
          s.on('connect', () => {
            s.write(
              mqttPacket.generate({
                cmd: 'connect',
                protocolId: 'MQTT',
                protocolVersion: 4,
                clean: true,
                clientId: 'lum-evil',
                keepalive: 0,
                username: 'lum-evil',
                password: Buffer.from(secretOf('lum-evil')),
              }),
            );
          });
          setTimeout(() => s.destroy(), 8_000).unref();
        }),
    );
    keptUp(rate, 'flood');
    assert.ok(sent > 1_000, `the flood sent ${sent} packets`);
    assert.equal(await rig.refused('rate'), before + 1, 'the flooder was cut off once, for its rate');
  });
});

describe('LAN endpoint client ids (MQTT 3.1.1 §3.1.3)', () => {
  let rig: LanRig;
  before(async () => {
    rig = await startLanRig([], {}, 'open');
  });
  after(async () => rig?.close());

  /** CONNECT over a raw socket; resolves with the CONNACK return code, or null when the connection closed without one. */
  const connackFor = (clientId: string, clean: boolean): Promise<number | null> =>
    new Promise((resolve) => {
      const s = tcpConnect(rig.port, '127.0.0.1');
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on('packet', (p: mqttPacket.Packet) => {
        if (p.cmd === 'connack') {
          resolve(p.returnCode ?? 0);
          s.destroy();
        }
      });
      s.on('data', (d) => parser.parse(d));
      s.on('error', () => undefined);
      s.on('close', () => resolve(null));
      // Written by hand: mqtt-packet refuses to encode an empty id without clean session, which is the point here.
      const id = Buffer.from(clientId, 'utf8');
      const body = Buffer.concat([
        Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, clean ? 0x02 : 0x00, 0, 0, id.length >> 8, id.length & 0xff]),
        id,
      ]);
      s.on('connect', () => s.write(Buffer.concat([Buffer.from([0x10, body.length]), body])));
    });

  it('accepts 1–23 characters of 0-9a-zA-Z and Poste device ids; refuses the empty id without clean session, wildcards, slashes and over-long ids with CONNACK 2', async () => {
    const before = await rig.refused('client-id');
    assert.equal(await connackFor('a', true), 0);
    assert.equal(await connackFor('ABCDEFGHIJKLMNOPQRSTUVW', true), 0);
    assert.equal(await connackFor('lum-0001.b_2', false), 0);
    assert.equal(await connackFor('', true), 0, 'open mode assigns an id to an empty one with clean session [MQTT-3.1.3-6]');
    assert.equal(await connackFor('', false), 2, '[MQTT-3.1.3-8]');
    assert.equal(await connackFor('lum/#', true), 2);
    assert.equal(await connackFor('-leading-dash', true), 2);
    assert.equal(await connackFor('x'.repeat(65), true), 2);
    assert.equal(await rig.refused('client-id'), before + 4);
  });
});
