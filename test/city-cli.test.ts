// `npm start` as a user runs it: prints the dashboard URL, serves the fleet, stops cleanly on
// Ctrl-C (SIGINT, exit 0), keeps its data directory, and resumes simulated time on the next run.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startTsChild } from './harness/child-process';
import { freePort, waitFor } from './harness/free-port';

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** The city's command as `npm start` runs it, in a process group killed with this test process. */
function startCli(env: Record<string, string>, args: string[] = []): Run {
  const run = startTsChild('city/src/cli.ts', args, env);
  return { child: run.process, output: run.output, exited: run.exited };
}

describe('npm start (the city in a box)', () => {
  let dataDir: string;
  const runs: Run[] = [];
  after(async () => {
    for (const r of runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('runs, serves the dashboard, stops cleanly on SIGINT and resumes from its data directory', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'poste-cli-'));
    const env = { PORT: String(await freePort()), MQTT_PORT: String(await freePort()), POSTE_DATA: dataDir, SPEED: '1200', INFLUX_URL: '' };

    const first = startCli(env);
    runs.push(first);
    await waitFor('the dashboard URL', () => first.output().includes(`dashboard  http://127.0.0.1:${env.PORT}`), 60_000);
    const base = `http://127.0.0.1:${env.PORT}`;
    await waitFor(
      'every device online',
      async () => {
        const fleet = (await (await fetch(`${base}/api/v1/fleet`)).json()) as {
          gateways: { online: number };
          luminaires: { online: number };
          aps: { online: number };
        };
        return fleet.gateways.online === 3 && fleet.luminaires.online === 240 && fleet.aps.online === 12;
      },
      60_000,
      250,
    );
    const page = await (await fetch(`${base}/`)).text();
    assert.match(page, /<html/i);
    // Within the first minute: households ceding, telemedicine sessions carried, the reserve's share measured.
    const admin = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    await waitFor(
      'telemedicine sessions on households’ APs',
      async () => {
        const wifi = (await (await fetch(`${base}/api/v1/wifi/aps`, { headers: { authorization: `Bearer ${admin}` } })).json()) as {
          aps: { household?: unknown; telemedicineSessions: number; reserve: { honouredPct: number | null } }[];
        };
        const ceded = wifi.aps.filter((a) => a.household !== undefined);
        return ceded.length >= 3 && wifi.aps.some((a) => a.telemedicineSessions > 0) && ceded.every((a) => a.reserve.honouredPct !== null);
      },
      60_000,
      500,
    );

    first.child.kill('SIGINT');
    assert.equal(await first.exited, 0, first.output());
    assert.match(first.output(), /stopped cleanly/);
    assert.ok((await stat(join(dataDir, 'telemetry.duckdb'))).size > 0, 'the embedded store file is kept');
    const saved = JSON.parse(await readFile(join(dataDir, 'city-checkpoint.json'), 'utf8')) as { simTimeMs: number };
    assert.ok(saved.simTimeMs > Date.parse('2024-06-01T20:00:00Z'), 'simulated time advanced and was saved');

    const second = startCli(env);
    runs.push(second);
    // The URL line, not any 'dashboard' (the dashboard component's log lines say it too).
    await waitFor('the second run to come up', () => second.output().includes(`dashboard  http://127.0.0.1:${env.PORT}`), 60_000);
    assert.match(second.output(), /resumed from the previous run/);
    const energy = (await (await fetch(`${base}/api/v1/energy`)).json()) as { measuredKwh: number };
    assert.ok(energy.measuredKwh > 0, 'the first run’s telemetry is still there');
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
  });

  it('explains a bad setting and exits 2', async () => {
    const r = startCli({ PORT: 'eighty' });
    runs.push(r);
    assert.equal(await r.exited, 2);
    assert.match(r.output(), /--port \/ PORT must be a port number/);
  });

  it('prints help with the environment variables and exits 0', async () => {
    const r = startCli({}, ['--help']);
    runs.push(r);
    assert.equal(await r.exited, 0);
    for (const v of ['PORT', 'MQTT_PORT', 'POSTE_DATA', 'INFLUX_URL', 'POSTE_PORT', 'POSTE_MQTT_PORT', 'POSTE_INFLUX_URL'])
      assert.match(r.output(), new RegExp(`\\[${v}\\]`));
  });
});
