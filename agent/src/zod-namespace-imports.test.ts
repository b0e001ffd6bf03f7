// The gateway bundle (tsup.bundle.config.ts) keeps zod small only while every source it bundles
// imports zod as a namespace (`import * as z from 'zod'`): esbuild then keeps just the schema
// kinds the code names. One `import { z } from 'zod'` (or a default import) materialises zod's
// whole namespace object — its 50 locales, JSON-schema conversion and the rest — and puts back
// ≈ 450 KB of source that V8 holds in the agent's heap for its whole life (≈ 1.1 MB of idle heap,
// measured with `npm run bench -- gateway-latency`). This test names the file that would do it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
/** The agent's sources and those of the workspace packages its bundle takes from their sources. */
const BUNDLED_SOURCE_DIRS = ['agent/src', 'protocol/src', 'spool/src'];
/**
 * Runtime imports of zod's root entry that take its namespace object: the default import or the
 * named `z` (zod re-exports its namespace under that name). `import type` costs nothing, and a named
 * import of one class (`{ ZodError }`) is tree-shaken like the namespace form.
 */
const NAMED_OR_DEFAULT_ZOD_IMPORT = /^import\s+(?!type\s)(?:[\w$]+\s*(?:,[^;]*)?|\{[^}]*\bz\b[^}]*\})\s+from\s+'zod';/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name));
}

test('bundled sources import zod as a namespace, so the gateway bundle leaves the rest of zod out', () => {
  const offenders: string[] = [];
  for (const dir of BUNDLED_SOURCE_DIRS) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      for (const m of readFileSync(file, 'utf8').matchAll(NAMED_OR_DEFAULT_ZOD_IMPORT)) {
        offenders.push(`${relative(ROOT, file)}: ${m[0]} (write: import * as z from 'zod';)`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});

test('the check recognises the imports that pull in all of zod and lets the namespace and type imports pass', () => {
  const found = (src: string): string[] => [...src.matchAll(NAMED_OR_DEFAULT_ZOD_IMPORT)].map((m) => m[0]);
  assert.deepEqual(found("import { z } from 'zod';"), ["import { z } from 'zod';"]);
  assert.deepEqual(found("import z from 'zod';"), ["import z from 'zod';"]);
  assert.deepEqual(found("import { z, ZodError } from 'zod';"), ["import { z, ZodError } from 'zod';"]);
  assert.deepEqual(found("import zod, { ZodError } from 'zod';"), ["import zod, { ZodError } from 'zod';"]);
  assert.deepEqual(
    found("import * as z from 'zod';\nimport type { z as Z } from 'zod';\nimport { ZodError } from 'zod';\nimport * as m from 'zod/mini';"),
    [],
  );
});
