import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from './cli';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const never = () => new Promise<string>(() => {});
  return { ctx: { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, env: {}, untilStopped: never }, out, err };
}

const serve = ['serve', '--store', 'memory:', '--inventory', 'inv.json', '--mqtt-url', 'mqtt://127.0.0.1:1883', '--data-dir', 'state'];

test('poste-dashboard: --help exits 0 and lists the store kinds; no command exits 2', async () => {
  const help = capture();
  assert.equal(await main(['--help'], help.ctx), 0);
  const text = help.out.join('\n');
  assert.match(text, /poste-dashboard serve --store SPEC --inventory FILE --mqtt-url URL/);
  for (const kind of ['embedded:PATH', 'influxdb1:URL/DB', 'memory:']) assert.ok(text.includes(kind), `help lists ${kind}`);
  assert.match(text, /Exit codes: 0 .*1 runtime failure/s);
  assert.match(text, /--max-concurrent-queries N +expensive store queries at once \(default 1\)/);
  assert.equal(await main(['serve', '--help'], capture().ctx), 0);
  const none = capture();
  assert.equal(await main([], none.ctx), 2);
  assert.match(none.err.join('\n'), /Usage:/);
});

test('poste-dashboard: every argument error exits 2 with a message naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['status'], /unknown command "status"/],
    [['serve', '--bogus'], /bogus/],
    [serve.filter((_, i) => i !== 1 && i !== 2), /missing --store/],
    [serve.filter((_, i) => i !== 3 && i !== 4), /missing --inventory/],
    [serve.filter((_, i) => i !== 5 && i !== 6), /missing --mqtt-url/],
    [['serve', '--store', 'nosuch:x', '--inventory', 'i', '--mqtt-url', 'mqtt://h'], /unknown kind "nosuch"/],
    [[...serve, '--port', '70000'], /--port must be a port number/],
    [[...serve, '--port', 'http'], /--port must be a port number/],
    [[...serve.slice(0, 6), 'http://127.0.0.1:1883'], /--mqtt-url must be mqtt/],
    [[...serve, '--username', 'dashboard'], /--username needs --password-file/],
    [[...serve, '--password-file', 'pw'], /--password-file needs --username/],
    [[...serve, '--host', '0.0.0.0'], /--public-reads/],
    [serve.slice(0, 7), /missing --data-dir \(or POSTE_DATA\)/],
    [[...serve, '--max-concurrent-queries', '0'], /--max-concurrent-queries: Too small/],
    [[...serve, '--read-share', '1.5'], /--read-share: Too big/],
    [[...serve, '--query-timeout-ms', 'soon'], /--query-timeout-ms must be a number, got "soon"/],
  ];
  for (const [argv, message] of cases) {
    const c = capture();
    assert.equal(await main(argv, c.ctx), 2, argv.join(' '));
    assert.match(c.err.join('\n'), message, argv.join(' '));
  }
  const badLevel = capture();
  assert.equal(await main(serve, { ...badLevel.ctx, env: { POSTE_LOG_LEVEL: 'loud' } }), 2);
  assert.match(badLevel.err.join('\n'), /POSTE_LOG_LEVEL must be one of/);
});

test('poste-dashboard: an unreadable or invalid inventory or an empty password file exits 1 and says what to fix', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'poste-dashboard-cli-'));
  try {
    const missing = capture();
    assert.equal(await main([...serve.slice(0, 3), '--inventory', join(dir, 'none.json'), ...serve.slice(5)], missing.ctx), 1);
    assert.match(missing.err.join('\n'), /none\.json: cannot read/);

    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ municipalities: [{ id: 'x' }] }));
    const invalid = capture();
    assert.equal(await main([...serve.slice(0, 3), '--inventory', bad, ...serve.slice(5)], invalid.ctx), 1);
    assert.match(invalid.err.join('\n'), /bad\.json: .*municipalities/);

    const good = join(dir, 'inv.json');
    await writeFile(
      good,
      JSON.stringify({ municipalities: [{ id: 'belem', name: 'Belém', timeZone: 'America/Belem', tariffBrlPerKwh: 0.8 }] }),
    );
    const pw = join(dir, 'pw');
    await writeFile(pw, '\n');
    const emptyPassword = capture();
    assert.equal(
      await main(
        [...serve.slice(0, 3), '--inventory', good, ...serve.slice(5), '--username', 'dashboard', '--password-file', pw],
        emptyPassword.ctx,
      ),
      1,
    );
    assert.match(emptyPassword.err.join('\n'), /pw is empty; put the password of dashboard on its first line/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
