// Every backend follows the same shape, so adding one is mechanical and none can skip the contract:
// a folder named after its kind with index.ts (exporting its descriptor), config.ts, README.md (with
// the sections an operator looks for) and a test that runs describeStoreContract; and it is listed
// in STORE_BACKENDS. A folder that looks like a backend but is not listed fails too.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { STORE_BACKENDS } from './registry';

const SRC = fileURLToPath(new URL('.', import.meta.url));
const README_SECTIONS = ['## Config', '## Spec', '## Limits', '## Tests'];

test('kinds are unique', () => {
  const kinds = STORE_BACKENDS.map((b) => b.kind);
  assert.deepEqual([...new Set(kinds)], kinds);
});

test('every folder with a config.ts is a registered backend', () => {
  const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory() && existsSync(join(SRC, n, 'config.ts')));
  assert.deepEqual(folders.sort(), STORE_BACKENDS.map((b) => b.kind).sort());
});

for (const backend of STORE_BACKENDS) {
  describe(`backend ${backend.kind}`, () => {
    const dir = join(SRC, backend.kind);

    test('its config schema discriminates on its kind; its spec help starts with kind:', () => {
      assert.equal(backend.configSchema.shape.kind.safeParse(backend.kind).success, true);
      assert.equal(backend.configSchema.shape.kind.safeParse(`${backend.kind}-not`).success, false);
      assert.ok(backend.specHelp.startsWith(`${backend.kind}:`), backend.specHelp);
    });

    test('index.ts exports its descriptor; config.ts exists', async () => {
      const mod = (await import(join(dir, 'index.ts'))) as Record<string, unknown>;
      assert.ok(Object.values(mod).includes(backend), `${backend.kind}/index.ts does not export the registered descriptor`);
      assert.ok(existsSync(join(dir, 'config.ts')));
    });

    test('README.md has the sections an operator needs', () => {
      const readme = readFileSync(join(dir, 'README.md'), 'utf8');
      for (const section of README_SECTIONS) assert.ok(readme.includes(`\n${section}`), `${backend.kind}/README.md lacks "${section}"`);
      assert.ok(readme.includes(`${backend.kind}:`), `${backend.kind}/README.md shows no spec`);
    });

    test('a test in its folder runs the contract suite', () => {
      const tests = readdirSync(dir).filter((n) => n.endsWith('.test.ts'));
      const runsContract = tests.some((n) => /\bdescribeStoreContract\(/.test(readFileSync(join(dir, n), 'utf8')));
      assert.ok(runsContract, `no ${backend.kind}/*.test.ts calls describeStoreContract (found: ${tests.join(', ') || 'none'})`);
    });
  });
}
