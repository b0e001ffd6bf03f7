// The generated docs (docs/schemas/*.schema.json, the configuration tables in READMEs) must match
// the zod schemas they come from: the same check as `npm run docs -- --check`, in-process.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { type JsonSchema, renderConfigTable } from '../scripts/docs/config-table';
import { checkDocs, writeDocs } from '../scripts/docs/generate';
import type { DocTarget } from '../scripts/docs/targets';

test('docs: generated schemas and README configuration tables are up to date (npm run docs)', async () => {
  const stale = await checkDocs();
  assert.deepEqual(stale, [], `stale generated docs — run \`npm run docs\`:\n  ${stale.join('\n  ')}`);
});

test('docs: the check notices an edited table, a missing marker and an orphan schema; writing fixes the table', async () => {
  const root = mkdtempSync(join(tmpdir(), 'poste-docs-'));
  try {
    const schema = z
      .object({
        port: z.number().int().min(0).max(65_535).describe('TCP port | 0 = any'),
        tls: z
          .object({ caFile: z.string().min(1).optional() })
          .strict()
          .optional(),
        mode: z.enum(['fast', 'safe']).default('safe'),
      })
      .strict();
    const target: DocTarget = { name: 'demo', schema, source: '`DemoSchema`', readme: 'pkg/README.md' };
    mkdirSync(join(root, 'pkg'));
    writeFileSync(
      join(root, 'pkg/README.md'),
      '# demo\n\n<!-- generated:config demo -->\nold table\n<!-- /generated:config demo -->\n\nafter\n',
    );
    assert.deepEqual(await checkDocs(root, [target]), ['docs/schemas/demo.schema.json: missing', 'pkg/README.md: out of date']);

    assert.deepEqual((await writeDocs(root, [target])).sort(), ['docs/schemas/demo.schema.json', 'pkg/README.md']);
    assert.deepEqual(await checkDocs(root, [target]), []);
    const readme = readFileSync(join(root, 'pkg/README.md'), 'utf8');
    assert.match(readme, /\| `port` \| integer \| required \| ≥ 0, ≤ 65535 \| TCP port \\\| 0 = any \|/);
    assert.match(readme, /\| `tls\.caFile` \| string \| — \| length ≥ 1 \|/);
    assert.match(readme, /\| `mode` \| `'fast'` \\\| `'safe'` \| `"safe"` \|/);
    assert.match(readme, /\[`docs\/schemas\/demo\.schema\.json`\]\(\.\.\/docs\/schemas\/demo\.schema\.json\)/);
    assert.ok(readme.endsWith('<!-- /generated:config demo -->\n\nafter\n'), 'text after the section is kept');

    writeFileSync(join(root, 'docs/schemas/old.schema.json'), '{}\n');
    writeFileSync(join(root, 'pkg/README.md'), '# demo, markers gone\n');
    const stale = await checkDocs(root, [target]);
    assert.equal(stale.length, 2, stale.join('\n'));
    assert.match(stale[0]!, /pkg\/README\.md: needs the markers <!-- generated:config demo -->/);
    assert.match(stale[1]!, /docs\/schemas\/old\.schema\.json: no schema generates it/);
    await assert.rejects(writeDocs(root, [target]), /pkg\/README\.md: needs the markers/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('docs: discriminated unions are documented variant by variant', () => {
  const schema = z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('file'), path: z.string().min(1) }),
    z.object({ kind: z.literal('server'), url: z.url(), retries: z.number().int().min(1).default(3) }),
  ]);
  const table = renderConfigTable(z.toJSONSchema(schema, { io: 'input' }) as JsonSchema);
  assert.match(table, /\| `kind` \| `'file'` \\\| `'server'` \| required \| {2}\| selects one of the variants below \|/);
  assert.match(table, /\| `path` \| string \| required \| length ≥ 1 \| when `kind` is `'file'` \|/);
  assert.match(table, /\| `retries` \| integer \| `3` \| ≥ 1 \| when `kind` is `'server'` \|/);
  assert.equal(table.match(/^\| `kind` /gm)?.length, 1, 'the discriminator is one row, not one per variant');
});
