import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startAgent } from './agent';
import { loadAgentConfig } from './config-file';
import { CURRENT_CONFIG_VERSION, migrateAgentSettings, pathBeforeMigration } from './settings-migration';

const v1 = { gatewayId: 'gw-old', north: { url: 'mqtt://127.0.0.1:1' }, local: { host: '127.0.0.1', port: 1884 } };

test('migration: version 1 (no configVersion) turns local into the first poste adapter and says so', () => {
  const r = migrateAgentSettings(v1);
  assert.ok(r.ok);
  assert.equal(r.from, 1);
  assert.equal(r.to, CURRENT_CONFIG_VERSION);
  assert.deepEqual(r.settings, {
    configVersion: 2,
    gatewayId: 'gw-old',
    north: { url: 'mqtt://127.0.0.1:1' },
    adapters: [{ kind: 'poste', host: '127.0.0.1', port: 1884 }],
  });
  assert.equal(r.notes.length, 1);
  assert.match(r.notes[0]!, /^version 1 → 2: local .* became adapters\[0\]/);
  assert.equal('local' in r.settings, false);
  assert.deepEqual(v1.local, { host: '127.0.0.1', port: 1884 }, 'the input is not modified');
});

test('migration: current settings pass unchanged, injected objects by reference, with no note', () => {
  const clock = { now: () => 1 };
  const current = { configVersion: 2, gatewayId: 'gw', adapters: [{ kind: 'poste', port: 0 }], clock };
  const r = migrateAgentSettings(current);
  assert.ok(r.ok);
  assert.deepEqual(r.notes, []);
  assert.equal(r.settings.clock, clock);
  // Version 1 settings without a local section have nothing to convert (they are stamped 2).
  const bare = migrateAgentSettings({ gatewayId: 'gw', adapters: [] });
  assert.ok(bare.ok);
  assert.deepEqual(bare.notes, []);
  assert.equal(bare.settings.configVersion, 2);
});

test('migration: refusals name the path', () => {
  const cases: Array<[unknown, string, RegExp]> = [
    [{ ...v1, adapters: [] }, 'local', /both present/],
    [{ ...v1, local: 1884 }, 'local', /expected an object/],
    [{ ...v1, configVersion: 3 }, 'configVersion', /reads versions 1 to 2/],
    [{ ...v1, configVersion: '2' }, 'configVersion', /unsupported "2"/],
    [[v1], '', /expected an object/],
  ];
  for (const [input, path, reason] of cases) {
    const r = migrateAgentSettings(input);
    assert.equal(r.ok, false, JSON.stringify(input));
    if (!r.ok) {
      assert.equal(r.error.path, path);
      assert.match(r.error.reason, reason);
    }
  }
});

test('migration: errors found after migrating are reported under the key the file used', () => {
  const renamed = [{ from: 'local', to: 'adapters[0]' }];
  assert.equal(pathBeforeMigration('adapters[0].port', renamed), 'local.port');
  assert.equal(pathBeforeMigration('adapters[0]', renamed), 'local');
  assert.equal(pathBeforeMigration('adapters[1].port', renamed), 'adapters[1].port');
  assert.equal(pathBeforeMigration('north.url', renamed), 'north.url');
});

test('config file: a version 1 file loads as version 2 with the migration noted; a bad local field names local.*', () => {
  const dir = mkdtempSync(join(tmpdir(), 'poste-config-'));
  try {
    const file = join(dir, 'agent.json');
    writeFileSync(file, JSON.stringify(v1));
    const loaded = loadAgentConfig(file);
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.error);
    assert.equal(loaded.options.configVersion, 2);
    assert.deepEqual(loaded.options.adapters, [{ kind: 'poste', host: '127.0.0.1', port: 1884 }]);
    assert.deepEqual({ from: loaded.migration.from, notes: loaded.migration.notes.length }, { from: 1, notes: 1 });

    writeFileSync(file, JSON.stringify({ ...v1, local: { port: -1 } }));
    const bad = loadAgentConfig(file);
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.match(bad.error, /agent\.json: local\.port: /);

    writeFileSync(file, JSON.stringify({ configVersion: 2, gatewayId: 'gw', north: v1.north, adapters: [{ kind: 'poste', port: 1884 }] }));
    const current = loadAgentConfig(file);
    assert.ok(current.ok);
    assert.deepEqual(current.migration.notes, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('startAgent: the old local option still starts a poste LAN broker, and the agent logs the migration', async () => {
  const lines: Array<{ msg: string; from?: number }> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string }) });
  const agent = await startAgent({ ...v1, local: { port: 0 }, logger, dimming: { enabled: false } });
  try {
    assert.ok(agent.localPort > 0);
    assert.deepEqual(Object.keys(agent.adapterPorts()), ['poste']);
    assert.equal(agent.stats().adapters.poste?.kind, 'poste');
    const note = lines.find((l) => l.msg.startsWith('agent settings migrated'));
    assert.ok(note, 'migration logged');
    assert.equal(note.from, 1);
  } finally {
    await agent.stop({ abrupt: true });
  }
});
