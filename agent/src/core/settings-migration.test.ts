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
    configVersion: 3,
    gatewayId: 'gw-old',
    north: { url: 'mqtt://127.0.0.1:1' },
    adapters: [{ kind: 'poste', host: '127.0.0.1', port: 1884, auth: { mode: 'open' } }],
  });
  assert.equal(r.notes.length, 2);
  assert.match(r.notes[0]!, /^version 1 → 2: local .* became adapters\[0\]/);
  assert.match(r.notes[1]!, /^version 2 → 3: adapters\[0\] \(poste\) had no auth: auth \{mode: "open"\} added/);
  assert.equal('local' in r.settings, false);
  assert.deepEqual(v1.local, { host: '127.0.0.1', port: 1884 }, 'the input is not modified');
});

test('migration: current settings pass unchanged, injected objects by reference, with no note', () => {
  const clock = { now: () => 1 };
  const current = { configVersion: 3, gatewayId: 'gw', adapters: [{ kind: 'poste', port: 0, auth: { mode: 'open' } }], clock };
  const r = migrateAgentSettings(current);
  assert.ok(r.ok);
  assert.deepEqual(r.notes, []);
  assert.equal(r.settings.clock, clock);
  // Version 1 settings without a local section or a poste adapter have nothing to convert (they are stamped 3).
  const bare = migrateAgentSettings({ gatewayId: 'gw', adapters: [] });
  assert.ok(bare.ok);
  assert.deepEqual(bare.notes, []);
  assert.equal(bare.settings.configVersion, 3);
});

test('migration: version 2 → 3 makes each poste LAN explicitly open (as version 2 behaved) and leaves an explicit auth alone', () => {
  const creds = { mode: 'credentials', credentialsFile: 'devices.json' };
  const r = migrateAgentSettings({
    configVersion: 2,
    gatewayId: 'gw',
    adapters: [
      { kind: 'poste', port: 1 },
      { kind: 'tasmota', port: 2 },
      { kind: 'poste', name: 'b', port: 3, auth: creds },
    ],
  });
  assert.ok(r.ok);
  assert.deepEqual(r.settings.adapters, [
    { kind: 'poste', port: 1, auth: { mode: 'open' } },
    { kind: 'tasmota', port: 2 },
    { kind: 'poste', name: 'b', port: 3, auth: creds },
  ]);
  assert.deepEqual(r.notes.length, 1);
  assert.match(r.notes[0]!, /adapters\[0\] \(poste\) had no auth.*accepts any client/);
});

test('migration: refusals name the path', () => {
  const cases: Array<[unknown, string, RegExp]> = [
    [{ ...v1, adapters: [] }, 'local', /both present/],
    [{ ...v1, local: 1884 }, 'local', /expected an object/],
    [{ ...v1, configVersion: 4 }, 'configVersion', /reads versions 1 to 3/],
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

test('config file: a version 1 file loads as version 3 with the migrations noted; a bad local field names local.*', () => {
  const dir = mkdtempSync(join(tmpdir(), 'poste-config-'));
  try {
    const file = join(dir, 'agent.json');
    writeFileSync(file, JSON.stringify(v1));
    const loaded = loadAgentConfig(file);
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.error);
    assert.equal(loaded.options.configVersion, 3);
    assert.deepEqual(
      loaded.options.adapters.map((a) => ({ kind: a.kind, port: 'port' in a ? a.port : 0, auth: 'auth' in a ? a.auth : null })),
      [{ kind: 'poste', port: 1884, auth: { mode: 'open' } }],
    );
    assert.deepEqual({ from: loaded.migration.from, notes: loaded.migration.notes.length }, { from: 1, notes: 2 });

    writeFileSync(file, JSON.stringify({ ...v1, local: { port: -1 } }));
    const bad = loadAgentConfig(file);
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.match(bad.error, /agent\.json: local\.port: /);

    writeFileSync(
      file,
      JSON.stringify({
        configVersion: 3,
        gatewayId: 'gw',
        north: v1.north,
        adapters: [{ kind: 'poste', port: 1884, auth: { mode: 'credentials', credentialsFile: 'devices.json' } }],
      }),
    );
    const current = loadAgentConfig(file);
    assert.ok(current.ok);
    assert.deepEqual(current.migration.notes, []);
    const auth = current.options.adapters[0]!.kind === 'poste' ? current.options.adapters[0]!.auth : null;
    assert.deepEqual(
      auth,
      { mode: 'credentials', credentialsFile: join(dir, 'devices.json') },
      'a relative credentials file is read beside the config',
    );

    // Version 3 must say who may use the LAN: a poste adapter without auth is refused with its path.
    writeFileSync(file, JSON.stringify({ configVersion: 3, gatewayId: 'gw', north: v1.north, adapters: [{ kind: 'poste', port: 1884 }] }));
    const noAuth = loadAgentConfig(file);
    assert.equal(noAuth.ok, false);
    if (!noAuth.ok) assert.match(noAuth.error, /agent\.json: adapters\[0\]\.auth: /);
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
