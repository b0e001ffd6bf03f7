// The city in a box killed with SIGKILL resumes consistently: its checkpoint holds the simulated
// clock and every device's counters, and no reading is published before the checkpoint holding it
// is durable. After kill -9, restart and a clean stop, no luminaire's energy counter ever goes
// backwards in the store and the store's energy equals ground-truth.json's within 0.1 %.
// Ctrl-C at SPEED=1200 stops the city within 10 s with exit code 0.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { GroundTruthFileSchema, type GroundTruthFile } from '@poste/city';
import { openStore } from '@poste/telemetry-store';
import { startTsChild } from './harness/child-process';
import { freePort, waitFor } from './harness/free-port';

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** The city's command as `npm start` runs it, in a process group killed with this test process. */
function startCli(env: Record<string, string>, args: string[] = []): Run {
  const run = startTsChild('city/src/cli.ts', args, { INFLUX_URL: '', POSTE_INFLUX_URL: '', POSTE_STORE: '', ...env });
  return { child: run.process, output: run.output, exited: run.exited };
}

async function groundTruth(dataDir: string): Promise<GroundTruthFile | undefined> {
  try {
    return GroundTruthFileSchema.parse(JSON.parse(await readFile(join(dataDir, 'ground-truth.json'), 'utf8')));
  } catch {
    return undefined;
  }
}

/** Every luminaire's activeEnergy in time order, straight from the embedded store's file. */
async function energySeries(path: string): Promise<Map<string, number[]>> {
  const db = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  const conn = await db.connect();
  try {
    const reader = await conn.runAndReadAll('SELECT luminaire, ts, "activeEnergy" AS e FROM luminaire ORDER BY luminaire, ts');
    const series = new Map<string, number[]>();
    for (const row of reader.getRowObjectsJS()) {
      const id = String(row.luminaire);
      series.set(id, [...(series.get(id) ?? []), Number(row.e)]);
    }
    return series;
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

describe('the city in a box under kill -9 and Ctrl-C', () => {
  const dirs: string[] = [];
  const runs: Run[] = [];
  after(async () => {
    for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('resumes from its checkpoint after SIGKILL: no counter goes backwards, the store’s energy matches ground-truth.json', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'poste-city-kill-'));
    dirs.push(dataDir);
    const env = {
      POSTE_PORT: String(await freePort()),
      POSTE_MQTT_PORT: String(await freePort()),
      POSTE_DATA: dataDir,
      POSTE_SPEED: '300',
    };

    const first = startCli(env);
    runs.push(first);
    await waitFor(
      'the first run to produce readings',
      async () => ((await groundTruth(dataDir))?.points.luminaire ?? 0) > 3_000,
      90_000,
      200,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = await groundTruth(dataDir);
    assert.ok(atKill);

    const second = startCli(env);
    runs.push(second);
    await waitFor('the second run to resume', () => second.output().includes('resumed from the previous run'), 90_000);
    await waitFor(
      'the second run to produce more readings',
      async () => ((await groundTruth(dataDir))?.points.luminaire ?? 0) > atKill.points.luminaire + 3_000,
      90_000,
      200,
    );
    second.child.kill('SIGINT');
    assert.equal(await second.exited, 0, second.output());

    const truth = await groundTruth(dataDir);
    assert.ok(truth && truth.heldByDevices === 0, 'the clean stop delivered what the devices held');
    const dbPath = join(dataDir, 'telemetry.duckdb');
    const series = await energySeries(dbPath);
    assert.equal(series.size, 240, 'every luminaire reported');
    for (const [id, energies] of series) {
      for (let i = 1; i < energies.length; i++) {
        assert.ok(
          energies[i]! >= energies[i - 1]!,
          `${id}: activeEnergy went back from ${energies[i - 1]} to ${energies[i]} (a false counter reset)`,
        );
      }
    }
    const store = await openStore({ kind: 'embedded', path: dbPath });
    try {
      const storeWh = (await store.luminaireEnergy({ from: 0, to: truth.simTimeMs + 1 })).reduce((n, l) => n + l.energyWh, 0);
      const diff = Math.abs(storeWh - truth.energyWh) / truth.energyWh;
      assert.ok(diff < 0.001, `store ${storeWh} Wh vs ground truth ${truth.energyWh} Wh: ${(diff * 100).toFixed(3)} %`);
    } finally {
      await store.close();
    }

    // The verify command says the same about energy (points also need the agents' spool to match after a kill).
    const verify = startCli(env, ['verify']);
    runs.push(verify);
    const code = await verify.exited;
    assert.match(verify.output(), /energy\s+produced [\d.]+ Wh\s+in store [\d.]+ Wh\s+difference 0\.0\d+ %/, verify.output());
    assert.ok(code === 0 || code === 1, verify.output());
  });

  it('stops within 10 s with exit code 0 on Ctrl-C at SPEED=1200', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'poste-city-int-'));
    dirs.push(dataDir);
    const env = {
      POSTE_PORT: String(await freePort()),
      POSTE_MQTT_PORT: String(await freePort()),
      POSTE_DATA: dataDir,
      POSTE_SPEED: '1200',
    };
    const run = startCli(env);
    runs.push(run);
    await waitFor('the city to run', () => run.output().includes('Ctrl-C to stop'), 90_000);
    await new Promise((r) => setTimeout(r, 8_000));
    const sent = Date.now();
    run.child.kill('SIGINT');
    const code = await run.exited;
    const tookMs = Date.now() - sent;
    assert.equal(code, 0, run.output());
    assert.ok(tookMs < 10_000, `took ${tookMs} ms to stop`);
    const truth = await groundTruth(dataDir);
    assert.ok(truth && truth.points.luminaire > 0, 'ground-truth.json written');
  });
});
