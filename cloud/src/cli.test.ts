import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from './cli';

function capture(untilStopped: () => Promise<string> = () => new Promise<string>(() => {})) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    ctx: { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, env: { POSTE_LOG_LEVEL: 'silent' }, untilStopped },
    out,
    err,
  };
}

const serve = ['serve', '--store', 'memory:', '--inventory', 'inv.json', '--credentials', 'creds.json'];

test('poste-cloud: --help exits 0 and lists the store kinds; no command exits 2', async () => {
  const help = capture();
  assert.equal(await main(['--help'], help.ctx), 0);
  const text = help.out.join('\n');
  assert.match(text, /poste-cloud serve --store SPEC --inventory FILE --credentials FILE/);
  for (const kind of ['embedded:PATH', 'influxdb1:URL/DB', 'memory:']) assert.ok(text.includes(kind), `help lists ${kind}`);
  assert.match(text, /Exit codes: 0 stopped cleanly/);
  assert.equal(await main(['serve', '-h'], capture().ctx), 0);
  assert.equal(await main([], capture().ctx), 2);
});

test('poste-cloud: every argument error exits 2 with a message naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['start'], /unknown command "start"/],
    [['serve', '--port', '1883'], /port/],
    [serve.filter((_, i) => i !== 1 && i !== 2), /missing --store/],
    [serve.filter((_, i) => i !== 3 && i !== 4), /missing --inventory/],
    [serve.filter((_, i) => i !== 5 && i !== 6), /missing --credentials/],
    [['serve', '--store', 'embedded', '--inventory', 'i', '--credentials', 'c'], /expected KIND:/],
    [[...serve, '--mqtt-port=-1'], /--mqtt-port must be a port number/],
    [[...serve, '--http-port', '65536'], /--http-port must be a port number/],
    [[...serve, '--host', '0.0.0.0'], /--public-reads/],
    [[...serve, '--host', '0.0.0.0', '--http-host', '10.0.0.5'], /--host 10\.0\.0\.5 is not a loopback address/],
    [[...serve, '--service-user', 'no spaces'], /--service-user "no spaces"/],
    [[...serve, '--redis', 'http://127.0.0.1:6379'], /--redis: invalid cluster options: redisUrl: a redis:\/\/ or rediss:\/\/ URL/],
  ];
  for (const [argv, message] of cases) {
    const c = capture();
    assert.equal(await main(argv, c.ctx), 2, argv.join(' '));
    assert.match(c.err.join('\n'), message, argv.join(' '));
  }
});

test('poste-cloud: the broker may listen beyond loopback while the dashboard stays on it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'poste-cloud-cli-'));
  try {
    const inv = join(dir, 'inv.json');
    await writeFile(
      inv,
      JSON.stringify({ municipalities: [{ id: 'belem', name: 'Belém', timeZone: 'America/Belem', tariffBrlPerKwh: 0.84 }] }),
    );
    const argv = [
      'serve',
      '--store',
      'memory:',
      '--inventory',
      inv,
      '--credentials',
      join(dir, 'creds.json'),
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
    ];
    const c = capture(async () => 'SIGTERM');
    assert.equal(await main([...argv, '--host', '0.0.0.0', '--http-host', '127.0.0.1'], c.ctx), 0, c.err.join('\n'));
    const text = c.out.join('\n');
    assert.match(text, /mqtt {7}mqtt:\/\/0\.0\.0\.0:\d+/);
    assert.match(text, /dashboard {2}http:\/\/127\.0\.0\.1:\d+/);
    assert.match(text, /service user poste-cloud created, password in .*creds\.poste-cloud\.password/);
    assert.match(text, /poste-cloud stopped \(SIGTERM\)/);

    const missing = capture(async () => 'SIGTERM');
    assert.equal(
      await main(
        ['serve', '--store', 'memory:', '--inventory', join(dir, 'none.json'), '--credentials', join(dir, 'creds.json')],
        missing.ctx,
      ),
      1,
    );
    assert.match(missing.err.join('\n'), /none\.json: cannot read/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
