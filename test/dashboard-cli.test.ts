// `poste-dashboard serve` as an operator runs it beside a third-party broker (mosquitto): the fleet
// link picks up retained states published by anyone, the API serves them and the embedded store
// answers /healthz, the first run's admin token opens the figures, and SIGTERM stops it cleanly (exit 0).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encode, topic } from '@poste/protocol';
import mqtt from 'mqtt';
import { spawnOwned } from './harness/children';
import { freePort, waitFor } from './harness/free-port';
import { startMosquitto, type RunningMosquitto } from './harness/mosquitto';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('poste-dashboard serve (embedded store, mosquitto fleet link)', () => {
  let dir: string | undefined;
  let broker: RunningMosquitto | undefined;
  let child: ChildProcess | undefined;
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await broker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the fleet seen on the broker and /healthz, and stops cleanly on SIGTERM', async () => {
    dir = await mkdtemp(join(tmpdir(), 'poste-dashboard-cli-'));
    broker = await startMosquitto();
    const inventory = join(dir, 'inventory.json');
    await writeFile(
      inventory,
      JSON.stringify({
        municipalities: [{ id: 'belem', name: 'Belém', timeZone: 'America/Belem', tariffBrlPerKwh: 0.84 }],
        gateways: { 'bel-gw1': 'belem' },
      }),
    );
    const port = await freePort();
    child = spawnOwned(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        'dashboard-api/src/cli.ts',
        'serve',
        '--store',
        `embedded:${join(dir, 'telemetry.duckdb')}`,
        '--inventory',
        inventory,
        '--mqtt-url',
        broker.url,
        '--port',
        String(port),
        '--data-dir',
        join(dir, 'state'),
      ],
      { cwd: root, env: { ...process.env, POSTE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    await waitFor(
      'the serving line',
      () => output.includes(`poste-dashboard serving http://127.0.0.1:${port}`) || child!.exitCode !== null,
      60_000,
    );
    assert.equal(child.exitCode, null, `exited early:\n${output}`);
    const base = `http://127.0.0.1:${port}`;

    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok', store: { kind: 'embedded', reachable: true }, fleetLink: 'connected' });

    // A gateway's birth and one of its luminaires, published (retained) by a plain MQTT client.
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    const now = Date.now();
    await pub.publishAsync(topic('gatewayState', { gateway: 'bel-gw1' }), encode({ v: 1, status: 'online', seq: 1, ts: now }), {
      qos: 1,
      retain: true,
    });
    await pub.publishAsync(
      topic('deviceState', { gateway: 'bel-gw1', device: 'lum-1' }),
      encode({ v: 1, kind: 'luminaire', status: 'online', seq: 1, ts: now }),
      { qos: 1, retain: true },
    );
    await pub.endAsync();
    // First run: an admin token in the data dir (mode 0600), its path printed; figures need it.
    assert.match(output, /admin token created in .*state\/admin-token/);
    const tokenFile = join(dir, 'state', 'admin-token');
    assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
    const headers = { authorization: `Bearer ${(await readFile(tokenFile, 'utf8')).trim()}` };
    assert.equal((await fetch(`${base}/api/v1/fleet`)).status, 401);
    type Fleet = { gateways: { online: number }; luminaires: { online: number } };
    let fleet: Fleet | undefined;
    await waitFor(
      'the gateway and its luminaire online',
      async () => {
        fleet = (await (await fetch(`${base}/api/v1/fleet`, { headers })).json()) as Fleet;
        return fleet.gateways.online === 1 && fleet.luminaires.online === 1;
      },
      10_000,
    );
    assert.deepEqual(fleet, { gateways: { online: 1, offline: 0 }, luminaires: { online: 1, offline: 0 }, aps: { online: 0, offline: 0 } });

    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);
    assert.match(output, /poste-dashboard stopped \(SIGTERM\)/);
  });
});
