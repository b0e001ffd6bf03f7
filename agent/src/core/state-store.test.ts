import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { STATE_FILE, StateStore } from './state-store';

/** A pino logger that keeps its records, to check what the store said and how loudly. */
function recordingLogger(): { log: pino.Logger; records: Array<{ level: number; msg: string; file?: string }> } {
  const records: Array<{ level: number; msg: string; file?: string }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void records.push(JSON.parse(line) as { level: number; msg: string }) });
  return { log, records };
}

const program = { version: 5, config: { scheduler: { programs: [{ id: 'constant-40' }] } } };

test('state store: a corrupt agent-state.json is refused loudly, moved aside, and the last good copy is used', () => {
  const dir = mkdtempSync(join(tmpdir(), 'poste-state-'));
  try {
    const first = new StateStore(dir, recordingLogger().log);
    first.update({ birthSeq: 7, config: program });
    const file = join(dir, STATE_FILE);
    assert.deepEqual(JSON.parse(readFileSync(`${file}.bak`, 'utf8')), { birthSeq: 7, config: program }, 'backup written with the state');

    const good = readFileSync(file, 'utf8');
    writeFileSync(file, `${good.slice(0, good.length / 2)}\u0000\u0000#garbage`); // a torn write

    const { log, records } = recordingLogger();
    const second = new StateStore(dir, log);
    assert.deepEqual(second.get(), { birthSeq: 7, config: program }, 'birth seq and program from the backup');
    const refusal = records.find((r) => r.level >= 50);
    assert.ok(refusal, 'logged at error level');
    assert.match(
      refusal.msg,
      /agent-state\.json is corrupt \(not JSON: .*\): refused and moved to .*agent-state\.json\.corrupt; starting from the last good copy .*agent-state\.json\.bak \(birth seq 7, config version 5\)/,
    );
    assert.ok(existsSync(`${file}.corrupt`), 'the damaged file kept for inspection');
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { birthSeq: 7, config: program }, 'the main file repaired from the backup');

    second.update({ birthSeq: 8 });
    assert.equal(new StateStore(dir, recordingLogger().log).get().birthSeq, 8, 'the seq keeps increasing across restarts');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('state store: a file that parses but does not fit the schema is refused with its path; with no usable backup the agent starts from zero and says so', () => {
  const dir = mkdtempSync(join(tmpdir(), 'poste-state-'));
  try {
    const file = join(dir, STATE_FILE);
    writeFileSync(file, JSON.stringify({ birthSeq: -3 }));
    writeFileSync(`${file}.bak`, '{');
    const { log, records } = recordingLogger();
    const store = new StateStore(dir, log);
    assert.deepEqual(store.get(), { birthSeq: 0 });
    const refusal = records.find((r) => r.level >= 50);
    assert.match(refusal?.msg ?? '', /corrupt \(invalid: birthSeq: .*\).*the backup .*\.bak is not JSON.*too: starting with birth seq 0/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('state store: first start (no files) is quiet and starts from zero', () => {
  const dir = mkdtempSync(join(tmpdir(), 'poste-state-'));
  try {
    const { log, records } = recordingLogger();
    assert.deepEqual(new StateStore(dir, log).get(), { birthSeq: 0 });
    assert.equal(records.filter((r) => r.level >= 40).length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
