import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addGateway, addService, loadCredentials } from '@poste/broker';
import { parseInventory } from '@poste/dashboard-api';
import { encode, topic } from '@poste/protocol';
import { openStore, type TelemetryStore } from '@poste/telemetry-store';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { startCloud, type Cloud } from './cloud';
import { ensureServiceCredential, servicePasswordFile } from './service-credential';

const inventory = parseInventory({
  municipalities: [{ id: 'belem', name: 'Belém', timeZone: 'America/Belem', tariffBrlPerKwh: 0.84 }],
  gateways: { 'bel-gw1': 'belem' },
});
const quiet = pino({ level: 'silent' });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function reading(ts: number, activeEnergy: number, operatingHours: number) {
  return {
    device: 'lum-1',
    ts,
    activePower: 60,
    activeEnergy,
    dimLevel: 80,
    voltage: 220,
    current: 0.3,
    powerFactor: 0.95,
    operatingHours,
    switchOnCounter: 1,
    status: 'ok',
  };
}

describe('startCloud: broker + ingest + dashboard on one embedded store', () => {
  let dir: string;
  let store: TelemetryStore;
  let cloud: Cloud | undefined;
  let gatewayPassword: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'poste-cloud-'));
    store = await openStore({ kind: 'embedded', path: join(dir, 'telemetry.duckdb') });
    gatewayPassword = await addGateway(join(dir, 'creds.json'), 'bel-gw1', 'belem');
  });
  after(async () => {
    await cloud?.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates its fleet-link service user, takes a gateway batch into the store and shows it in the API', async () => {
    const credentialsFile = join(dir, 'creds.json');
    cloud = await startCloud({ store, credentialsFile, inventory, logger: quiet, ingest: { flushIntervalMs: 20 }, publicReads: true });
    assert.equal(cloud.service.username, 'poste-cloud');
    assert.equal(cloud.service.provisioned?.outcome, 'created');
    const passwordFile = servicePasswordFile(credentialsFile, 'poste-cloud');
    assert.equal(passwordFile, join(dir, 'creds.poste-cloud.password'));
    assert.equal((await stat(passwordFile)).mode & 0o777, 0o600);
    const kept = (await readFile(passwordFile, 'utf8')).trim();
    assert.deepEqual(await (await loadCredentials(credentialsFile)).verify('poste-cloud', kept), {
      ok: true,
      principal: { role: 'service', username: 'poste-cloud' },
    });

    const gw = await mqtt.connectAsync(cloud.mqttUrl, {
      clientId: 'bel-gw1',
      username: 'bel-gw1',
      password: gatewayPassword,
      reconnectPeriod: 0,
    });
    const t0 = Date.parse('2024-06-01T21:00:00Z');
    await gw.publishAsync(topic('gatewayState', { gateway: 'bel-gw1' }), encode({ v: 1, status: 'online', seq: 0, ts: t0 }), {
      qos: 1,
      retain: true,
    });
    // poste-cloud counts readings only of devices their gateway announced (retained device state).
    await gw.publishAsync(
      topic('deviceState', { gateway: 'bel-gw1', device: 'lum-1' }),
      encode({ v: 1, kind: 'luminaire', status: 'online', seq: 1, ts: t0 - 60_000 }),
      { qos: 1, retain: true },
    );
    // The PUBACK comes only once the batch is written: after this the points are in the store.
    await gw.publishAsync(
      topic('luminaireTelemetry', { gateway: 'bel-gw1' }),
      encode({ v: 1, seq: 0, readings: [reading(t0, 1_000, 10), reading(t0 + 3_600_000, 1_500, 11)] }),
      { qos: 1 },
    );
    assert.equal(cloud.ingest.stats().pointsWritten, 2);

    const from = encodeURIComponent(new Date(t0 - 60_000).toISOString());
    const to = encodeURIComponent(new Date(t0 + 2 * 3_600_000).toISOString());
    const energy = (await (await fetch(`${cloud.dashboardUrl}/api/v1/energy?from=${from}&to=${to}`)).json()) as {
      luminaires: number;
      measuredKwh: number;
      litHours: number;
    };
    assert.equal(energy.luminaires, 1);
    assert.equal(energy.measuredKwh, 0.5);
    assert.equal(energy.litHours, 1);
    const fleet = (await (await fetch(`${cloud.dashboardUrl}/api/v1/fleet`)).json()) as { gateways: { online: number } };
    assert.equal(fleet.gateways.online, 1, 'the fleet link saw the gateway birth');
    await gw.endAsync();

    await cloud.stop();
    cloud = undefined;
  });

  it('reuses the kept service password on the next start, and re-keys a user whose password was lost', async () => {
    const credentialsFile = join(dir, 'creds.json');
    cloud = await startCloud({ store, credentialsFile, inventory, logger: quiet });
    assert.equal(cloud.service.provisioned?.outcome, 'existing');
    const health = await fetch(`${cloud.dashboardUrl}/healthz`);
    assert.equal(health.status, 200);
    await cloud.stop();
    cloud = undefined;

    // An operator re-keyed the user with poste-broker add-service: the kept password no longer verifies.
    await addService(credentialsFile, 'poste-cloud');
    const rekeyed = await ensureServiceCredential(credentialsFile, 'poste-cloud');
    assert.equal(rekeyed.outcome, 'rekeyed');
    assert.ok((await (await loadCredentials(credentialsFile)).verify('poste-cloud', rekeyed.password)).ok);
  });

  it('stops what it started when a port is taken', async () => {
    const credentialsFile = join(dir, 'creds.json');
    const first = await startCloud({ store, credentialsFile, inventory, logger: quiet });
    const mqttPort = await freePort();
    try {
      // The broker comes up on mqttPort, then the dashboard finds its port taken.
      await assert.rejects(
        startCloud({ store, credentialsFile, inventory, logger: quiet, mqttPort, httpPort: first.httpPort }),
        /EADDRINUSE/,
      );
    } finally {
      await first.stop();
    }
    // The failed start closed its broker again: mqttPort is free for the next one.
    const again = await startCloud({ store, credentialsFile, inventory, logger: quiet, mqttPort });
    assert.equal(again.mqttPort, mqttPort);
    await again.stop();
  });

  it('names the credentials file when it is not valid', async () => {
    const bad = join(dir, 'bad-creds.json');
    await writeFile(bad, '{"gateways": [{"id": "x"}]}');
    await assert.rejects(startCloud({ store, credentialsFile: bad, inventory, logger: quiet }), (err: Error) =>
      err.message.startsWith(`credentials ${bad}: `),
    );
  });
});
