// `poste-cloud serve` as a small municipality runs it: one process, one embedded store; a gateway
// registered with poste-broker add-gateway publishes a batch with a third-party client
// (mosquitto_pub), the points show in the dashboard API, and SIGTERM stops it cleanly (exit 0).
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { topic } from '@poste/protocol';
import { spawnOwned } from './harness/children';
import { freePort, waitFor } from './harness/free-port';

const root = fileURLToPath(new URL('..', import.meta.url));
const exec = promisify(execFile);
const tsx = ['--conditions=source', '--import', 'tsx'];

describe('poste-cloud serve (embedded store)', () => {
  let dir: string | undefined;
  let child: ChildProcess | undefined;
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('accepts a gateway batch from mosquitto_pub, serves it, and stops cleanly on SIGTERM', async () => {
    dir = await mkdtemp(join(tmpdir(), 'poste-cloud-cli-'));
    const credentials = join(dir, 'creds.json');
    const { stdout: password } = await exec(
      process.execPath,
      [...tsx, 'broker/src/cli.ts', 'add-gateway', '--credentials', credentials, '--id', 'bel-gw1', '--municipality', 'belem'],
      { cwd: root },
    );
    const inventory = join(dir, 'inventory.json');
    await writeFile(
      inventory,
      JSON.stringify({
        municipalities: [{ id: 'belem', name: 'Belém', timeZone: 'America/Belem', tariffBrlPerKwh: 0.84 }],
        gateways: { 'bel-gw1': 'belem' },
      }),
    );
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    child = spawnOwned(
      process.execPath,
      [
        ...tsx,
        'cloud/src/cli.ts',
        'serve',
        '--store',
        `embedded:${join(dir, 'telemetry.duckdb')}`,
        '--inventory',
        inventory,
        '--credentials',
        credentials,
        '--mqtt-port',
        String(mqttPort),
        '--http-port',
        String(httpPort),
        '--data',
        join(dir, 'data'),
      ],
      { cwd: root, env: { ...process.env, POSTE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    await waitFor('poste-cloud running', () => output.includes('poste-cloud running') || child!.exitCode !== null, 60_000);
    assert.equal(child.exitCode, null, `exited early:\n${output}`);
    assert.match(output, /1 gateways in .*creds\.json/);
    assert.match(output, /service user poste-cloud created, password in .*creds\.poste-cloud\.password/);

    const t0 = Date.parse('2024-06-01T21:00:00Z');
    const reading = (ts: number, activeEnergy: number, operatingHours: number) => ({
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
    });
    const batch = { v: 1, seq: 0, readings: [reading(t0, 1_000, 10), reading(t0 + 3_600_000, 1_500, 11)] };
    // The gateway speaking through mosquitto_pub, QoS 1: it exits once the broker acknowledged,
    // which ingest does only after the write.
    const publish = (topicName: string, message: string, extra: string[] = []) =>
      exec('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(mqttPort),
        '-i',
        'bel-gw1',
        '-u',
        'bel-gw1',
        '-P',
        password.trim(),
        '-q',
        '1',
        ...extra,
        '-t',
        topicName,
        '-m',
        message,
      ]);
    // poste-cloud counts readings only of devices their gateway announced (retained device state).
    const birth = { v: 1, kind: 'luminaire', status: 'online', seq: 1, ts: t0 - 60_000 };
    await publish(topic('deviceState', { gateway: 'bel-gw1', device: 'lum-1' }), JSON.stringify(birth), ['-r']);
    await publish(topic('luminaireTelemetry', { gateway: 'bel-gw1' }), JSON.stringify(batch));

    const base = `http://127.0.0.1:${httpPort}`;
    const range = `from=${t0 - 60_000}&to=${t0 + 2 * 3_600_000}`;
    // With --data the dashboard made an admin token (mode 0600) and said where.
    assert.match(output, /admin token created in .*admin-token/);
    const headers = { authorization: `Bearer ${(await readFile(join(dir, 'data', 'admin-token'), 'utf8')).trim()}` };
    assert.equal((await fetch(`${base}/api/v1/energy?${range}`)).status, 401, 'figures need a token without --public-reads');
    const energy = (await (await fetch(`${base}/api/v1/energy?${range}`, { headers })).json()) as {
      luminaires: number;
      measuredKwh: number;
    };
    assert.equal(energy.luminaires, 1);
    assert.equal(energy.measuredKwh, 0.5);
    const health = await fetch(`${base}/healthz`);
    assert.deepEqual(await health.json(), { status: 'ok', store: { kind: 'embedded', reachable: true }, fleetLink: 'connected' });

    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);
    assert.match(output, /poste-cloud stopped \(SIGTERM\)/);
  });
});
