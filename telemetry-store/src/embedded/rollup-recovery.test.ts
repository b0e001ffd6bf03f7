// Rollup rows are held in memory between saves (rollup-buffer.ts): a store killed with rows unsaved
// rebuilds them from raw at the next open, so its rollups equal the raw recomputation.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { rowsFromReadings } from '../rollups/reference';
import { HOUR_MS, type LuminaireRow, toLuminaireHour } from '../rollups/rows';
import { CRASH_T0, crashReadings } from './fixtures/crash-readings';
import { EmbeddedStore } from './store';

test('rollup rows not saved when the process is killed are rebuilt from raw at the next open', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'poste-rollup-recovery-'));
  const path = join(dir, 'telemetry.duckdb');
  try {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url)), path],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('written')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`writer exited early (${code})`)));
    });
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;

    const store = new EmbeddedStore({ kind: 'embedded', path });
    await store.init();
    try {
      const q = { from: CRASH_T0 - HOUR_MS, to: CRASH_T0 + 5 * HOUR_MS };
      const expected = (rowsFromReadings('luminaire', crashReadings().flat()) as LuminaireRow[]).map(toLuminaireHour);
      assert.equal(expected.length, 9);
      assert.deepEqual(await store.luminaireHours(q), expected);
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
