// A city with the scheduler in charge, on an accelerated clock: the dimming programs travel as
// retained desired config through the broker, each agent applies and reports them, commands its
// luminaires, and the readings that reach the cloud show the programmed levels.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore, type TelemetryStore } from '@poste/telemetry-store';
import { decodeLuminaireBatch, ReportedConfigSchema, topicFilter, type ReportedConfig } from '@poste/protocol';
import { startCity, type City } from '@poste/city';
import { SimClock, utcOffsetMinutes, type CityScenarioInput } from '@poste/simulators';
import mqtt from 'mqtt';
import { waitFor } from './harness/free-port';

const MIN = 60_000;
// 21:30 in São Paulo (UTC−3) on a Monday; runs to 00:50.
const start = Date.parse('2024-06-04T00:30:00Z');
const end = start + 200 * MIN;
const scenario: CityScenarioInput = {
  seed: 3,
  start: new Date(start).toISOString(),
  speed: 600,
  reportIntervalS: 60,
  stepS: 10,
  municipalities: [
    {
      id: 'campinas',
      name: 'Campinas',
      timeZone: 'America/Sao_Paulo',
      lat: -22.9056,
      lon: -47.0608,
      gateways: [{ id: 'cps-dim', luminaires: 20, aps: 1 }],
    },
  ],
};

interface Seen {
  group: string;
  localMinute: number;
  dimLevel: number;
}

describe('a city dimmed by its agents’ scheduler', () => {
  let dataDir: string;
  let store: TelemetryStore;
  let city: City;
  let cloud: mqtt.MqttClient;
  const seen: Seen[] = [];
  const reported = new Map<string, ReportedConfig>();

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'poste-dim-'));
    store = await openStore({ kind: 'embedded', path: join(dataDir, 't.duckdb') });
    city = await startCity({ scenario, dataDir, store, clock: SimClock.accelerated(start, 600) });
    const secrets = JSON.parse(await readFile(join(dataDir, 'secrets.json'), 'utf8')) as { services: Record<string, string> };
    // A cloud-side observer with the dashboard's service credentials, as any operator tool would be.
    // A service's client id starts with its username: the broker refuses any other.
    cloud = await mqtt.connectAsync(city.mqttUrl, {
      protocolVersion: 4,
      clientId: `dashboard-test-${process.pid}`,
      username: 'dashboard',
      password: secrets.services.dashboard,
      reconnectPeriod: 0,
    });
    const offset = utcOffsetMinutes('America/Sao_Paulo', start) * MIN;
    cloud.on('message', (t, payload) => {
      if (t.endsWith('/config/reported')) {
        reported.set(t, ReportedConfigSchema.parse(JSON.parse(payload.toString())));
        return;
      }
      const batch = decodeLuminaireBatch(payload);
      if (!batch.ok) return;
      for (const r of batch.items) {
        const local = new Date(r.ts + offset);
        seen.push({ group: r.group ?? '', localMinute: local.getUTCHours() * 60 + local.getUTCMinutes(), dimLevel: r.dimLevel });
      }
    });
    await cloud.subscribeAsync([topicFilter('luminaireTelemetry'), topicFilter('configReported')], { qos: 1 });
    await waitFor('simulated time to reach 00:50', () => city.clock.now() >= end, 120_000, 200);
    await city.settle(end);
  });

  after(async () => {
    await cloud?.endAsync();
    await city?.stop();
    await store?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('every agent applied the programs and reported so', () => {
    const r = reported.get('poste/v1/gw/cps-dim/config/reported');
    assert.equal(r?.status, 'applied');
    assert.equal(r?.version, 1);
  });

  /** Levels seen in [fromMin, toMin) local minutes (past midnight: + 1440), margins kept from the steps. */
  const levels = (suffix: string, fromMin: number, toMin: number): number[] => {
    const out = new Set<number>();
    for (const s of seen) {
      const m = s.localMinute < 12 * 60 ? s.localMinute + 1440 : s.localMinute;
      if (s.group.endsWith(suffix) && m >= fromMin && m < toMin) out.add(Math.round(s.dimLevel));
    }
    return [...out].sort((a, b) => a - b);
  };

  it('residential streets follow 70 % from 22:00 and 50 % from midnight', () => {
    assert.deepEqual(levels('-residential', 22 * 60 + 15, 23 * 60 + 45), [70]);
    assert.deepEqual(levels('-residential', 24 * 60 + 15, 24 * 60 + 50), [50]);
  });

  it('arterial roads keep 100 % until 23:00, then 80 %', () => {
    assert.deepEqual(levels('-arterial', 22 * 60, 22 * 60 + 45), [100]);
    assert.deepEqual(levels('-arterial', 23 * 60 + 15, 24 * 60 + 50), [80]);
  });

  it('commands went out only on changes and lease renewals, and were all acknowledged', async () => {
    const dimming = () => city.agents.get('cps-dim')!.stats().extensions.dimming;
    assert.ok(dimming(), 'dimming runner present');
    // The agents' clock runs on after the settle: a lease renewal may be on its way to a luminaire
    // right now. Every command is answered once none is in flight (a lost one would time out as failed).
    await waitFor('no command in flight', () => dimming()!.acked + dimming()!.failed >= dimming()!.sent, 10_000, 20);
    const d = dimming()!;
    assert.equal(d.failed, 0);
    assert.ok(d.acked > 0 && d.acked === d.sent, `sent ${d.sent}, acked ${d.acked}`);
    // 20 luminaires over 3h20 with 3 level changes each plus a renewal every ~10 min: far fewer
    // commands than one per luminaire per tick would be.
    assert.ok(d.sent < 20 * 40, `sent ${d.sent} commands`);
  });
});
