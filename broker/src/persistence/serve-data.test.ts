import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { addGateway, addService } from '../credentials/store';
import { connect } from '../test-support/mqtt';
import { tempDir } from './test-support';

const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));

/** `poste-broker serve … --data DIR` as a process; resolves with its port once it listens. */
async function serve(credentials: string, dataDir: string): Promise<{ child: ChildProcess; port: number; banner: string }> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      cli,
      'serve',
      '--credentials',
      credentials,
      '--store',
      'memory:',
      '--data',
      dataDir,
      '--port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, POSTE_LOG_LEVEL: 'silent' } },
  );
  const banner = ((await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next()).value as string | undefined) ?? '';
  const port = Number(/mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(banner)?.[1]);
  assert.ok(port > 0, `serve printed ${JSON.stringify(banner)}`);
  return { child, port, banner };
}

test('poste-broker serve --data DIR: a retained desired config survives stopping (SIGTERM) and starting the CLI again', async () => {
  const root = await tempDir('poste-serve-data-');
  try {
    const credentials = join(root.dir, 'credentials.json');
    const gatewayPassword = await addGateway(credentials, 'gw-1', 'belem');
    const opsPassword = await addService(credentials, 'ops');
    const dataDir = join(root.dir, 'broker-state');

    const first = await serve(credentials, dataDir);
    assert.match(first.banner, new RegExp(`broker state ${dataDir}`));
    const ops = await connect(first.port, 'ops', opsPassword);
    await ops.publishAsync('poste/v1/gw/gw-1/config/desired', '{"version":3}', { qos: 1, retain: true });
    await ops.endAsync();
    const stopped = once(first.child, 'exit');
    first.child.kill('SIGTERM');
    assert.deepEqual(await stopped, [0, null], 'a clean stop exits 0');

    const second = await serve(credentials, dataDir);
    try {
      const gw = await connect(second.port, 'gw-1', gatewayPassword);
      const received = new Promise<[string, Buffer]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no retained message after the restart')), 10_000);
        gw.once('message', (topic, payload) => {
          clearTimeout(timer);
          resolve([topic, payload]);
        });
      });
      await gw.subscribeAsync('poste/v1/gw/gw-1/config/desired', { qos: 1 });
      const [topic, payload] = await received;
      assert.equal(topic, 'poste/v1/gw/gw-1/config/desired');
      assert.equal(payload.toString(), '{"version":3}');
      await gw.endAsync();
    } finally {
      const stopped2 = once(second.child, 'exit');
      second.child.kill('SIGTERM');
      await stopped2;
    }
  } finally {
    await root.remove();
  }
});
