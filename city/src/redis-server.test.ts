import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { redisCommand, removeStaleRedisDirs } from './redis-server';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of a process that has exited (so certainly not running). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid;
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(pid !== undefined);
  return pid;
}

test('redisCommand wraps redis-server in setpriv --pdeathsig when setpriv is there, and not otherwise', () => {
  assert.deepEqual(redisCommand('/usr/bin/redis-server', ['--port', '1'], '/usr/bin/setpriv'), {
    file: '/usr/bin/setpriv',
    args: ['--pdeathsig', 'SIGTERM', '--', '/usr/bin/redis-server', '--port', '1'],
  });
  assert.deepEqual(redisCommand('/usr/bin/redis-server', ['--port', '1'], null), {
    file: '/usr/bin/redis-server',
    args: ['--port', '1'],
  });
});

test('removeStaleRedisDirs removes only directories whose city is gone', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'poste-stale-test-'));
  t.after(() => rm(parent, { recursive: true, force: true }));
  const dead = join(parent, 'poste-city-redis-dead');
  const live = join(parent, 'poste-city-redis-live');
  const settingUp = join(parent, 'poste-city-redis-new');
  const other = join(parent, 'something-else');
  for (const d of [dead, live, settingUp, other]) await mkdir(d);
  await writeFile(join(dead, 'city.pid'), `${await deadPid()}\n`);
  await writeFile(join(live, 'city.pid'), `${process.pid}\n`);
  await writeFile(join(other, 'city.pid'), `${await deadPid()}\n`);

  assert.deepEqual(await removeStaleRedisDirs(parent), [dead]);
  assert.equal(existsSync(dead), false);
  assert.ok(existsSync(live), 'a running city keeps its directory');
  assert.ok(existsSync(settingUp), 'a directory without city.pid is being set up');
  assert.ok(existsSync(other), 'only poste-city-redis-* directories are considered');
});

test('a city killed with SIGKILL does not leave its redis-server running, and the next start clears its directory', async (t) => {
  const module = fileURLToPath(new URL('./redis-server.ts', import.meta.url));
  const script = `import { startOwnRedis } from ${JSON.stringify(module)};
const r = await startOwnRedis();
process.stdout.write(JSON.stringify({ pid: r.pid, dir: r.dir }) + '\\n');
setInterval(() => {}, 1000);`;
  const city = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => city.kill('SIGKILL'));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    city.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
    });
    city.once('exit', (code) => reject(new Error(`the city stand-in exited (${code}) before starting redis`)));
  });
  const { pid, dir } = JSON.parse(line) as { pid: number; dir: string };
  t.after(() => {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    return rm(dir, { recursive: true, force: true });
  });
  assert.ok(alive(pid), 'redis-server runs while the city does');

  city.kill('SIGKILL');
  const deadline = Date.now() + 10_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(alive(pid), false, 'redis-server ended with its city');

  const removed = await removeStaleRedisDirs();
  assert.ok(removed.includes(dir), `the next start removes ${dir}`);
});
