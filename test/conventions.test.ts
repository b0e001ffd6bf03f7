// Repository conventions that no compiler checks: every store backend and device adapter folder is
// complete (README, config schema, tests), packages import only what docs/architecture.md allows
// and declare what they import, command-line entry points are installable, and no document points
// outside the repository.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.poste-data', '.tmp']);

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const isDir = (path: string) => existsSync(join(ROOT, path)) && statSync(join(ROOT, path)).isDirectory();
const subdirs = (path: string) =>
  isDir(path)
    ? readdirSync(join(ROOT, path))
        .filter((n) => isDir(`${path}/${n}`))
        .sort()
    : [];

function filesUnder(path: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      if (SKIP_DIRS.has(name)) continue;
      const p = `${dir}/${name}`;
      if (isDir(p)) walk(p);
      else if (keep(name)) out.push(p);
    }
  };
  if (isDir(path)) walk(path);
  return out.sort();
}

interface PackageJson {
  name: string;
  workspaces?: string[];
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
const packageJson = (dir: string): PackageJson => JSON.parse(read(`${dir}/package.json`)) as PackageJson;
const WORKSPACES = packageJson('.').workspaces ?? [];

/** Problems of one plug-in folder: README, a config.ts defining a zod schema, a test matching `testMustContain`. */
function folderProblems(dir: string, testMustContain: RegExp, testWhat: string): string[] {
  const problems: string[] = [];
  if (!existsSync(join(ROOT, dir, 'README.md'))) problems.push(`${dir}: no README.md`);
  const config = `${dir}/config.ts`;
  if (!existsSync(join(ROOT, config))) problems.push(`${dir}: no config.ts`);
  else if (!/from 'zod'/.test(read(config)) || !/export const \w+Schema\b/.test(read(config))) {
    problems.push(`${config}: exports no zod schema (export const …Schema = z.…)`);
  }
  const tests = filesUnder(dir, (n) => n.endsWith('.test.ts'));
  if (!tests.some((t) => testMustContain.test(read(t)))) problems.push(`${dir}: no test file that ${testWhat}`);
  return problems;
}

test('conventions: every telemetry-store backend folder has README.md, config.ts and a contract test, and is registered', async () => {
  const problems: string[] = [];
  // Folders that look like a backend: an index.ts exporting a descriptor.
  const descriptorDirs = subdirs('telemetry-store/src').filter((d) => {
    const index = `telemetry-store/src/${d}/index.ts`;
    return existsSync(join(ROOT, index)) && /configSchema/.test(read(index)) && /\bcreate\b/.test(read(index));
  });
  const store = (await import('@poste/telemetry-store')) as Record<string, unknown>;
  const table = store.STORE_BACKENDS as ReadonlyArray<{ kind: string; configSchema: unknown; create: unknown }> | undefined;
  assert.ok(Array.isArray(table), '@poste/telemetry-store exports no STORE_BACKENDS table of backend descriptors');
  const registered = table.map((b) => b.kind);
  assert.ok(registered.length > 0, 'STORE_BACKENDS is empty');
  const { z } = await import('zod');
  for (const b of table) {
    if (!(b.configSchema instanceof z.ZodType)) problems.push(`backend ${b.kind}: configSchema is not a zod schema`);
    if (typeof b.create !== 'function') problems.push(`backend ${b.kind}: create is not a function`);
  }
  for (const kind of new Set([...registered, ...descriptorDirs])) {
    const dir = `telemetry-store/src/${kind}`;
    if (!isDir(dir)) {
      problems.push(`backend ${kind} is registered but has no folder ${dir}/`);
      continue;
    }
    if (!registered.includes(kind)) problems.push(`${dir}: exports a descriptor that STORE_BACKENDS does not list`);
    problems.push(...folderProblems(dir, /describeStoreContract\(/, 'calls describeStoreContract'));
  }
  assert.deepEqual(problems, [], `store backend folders incomplete:\n  ${problems.join('\n  ')}`);
});

test('conventions: every agent device adapter folder has README.md, config.ts and a test', () => {
  const base = 'agent/src/adapters';
  assert.ok(isDir(base), `${base}/ does not exist (one folder per device kind lives there)`);
  const kinds = subdirs(base);
  assert.ok(kinds.length > 0, `${base}/ holds no adapter folder`);
  const problems = kinds.flatMap((kind) => folderProblems(`${base}/${kind}`, /\btest\(|\bdescribe\(/, 'declares a test'));
  assert.deepEqual(problems, [], `device adapter folders incomplete:\n  ${problems.join('\n  ')}`);
});

/** The import rule: package → allowed workspace packages ('any' for all), parsed from docs/architecture.md. */
function parseImportRule(markdown: string): Map<string, string[] | 'any'> {
  const rule = new Map<string, string[] | 'any'>();
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Packages and what each may import'));
  if (!section) return rule;
  for (const line of section.split('\n')) {
    const m = /^\|\s*`(@poste\/[\w-]+)`\s*\|\s*(.*?)\s*\|\s*$/.exec(line);
    if (!m) continue;
    const cell = m[2]!;
    rule.set(m[1]!, cell === 'any' ? 'any' : [...cell.matchAll(/`(@poste\/[\w-]+)`/g)].map((x) => x[1]!));
  }
  return rule;
}

/** Workspace packages a source text imports (sub-paths such as `@poste/agent/scheduler` count as the package). */
function poste(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found = new Set<string>();
  for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](@poste\/[\w-]+)(?:\/[^'"]*)?['"]/g)) found.add(m[1]!);
  return [...found];
}

test('conventions: the import rule of docs/architecture.md parses and covers every workspace package', () => {
  const rule = parseImportRule(read('docs/architecture.md'));
  assert.ok(rule.size > 0, 'docs/architecture.md: no "| package | may import |" table under "## Packages and what each may import"');
  const missing = WORKSPACES.map((w) => packageJson(w).name).filter((name) => !rule.has(name));
  assert.deepEqual(missing, [], `docs/architecture.md: add a row for ${missing.join(', ')}`);
  assert.deepEqual(poste("import { a } from '@poste/agent/scheduler';\n// from '@poste/broker'\nawait import(\"@poste/x\");"), [
    '@poste/agent',
    '@poste/x',
  ]);
});

test('conventions: packages import only what docs/architecture.md allows, and declare it in package.json', () => {
  const rule = parseImportRule(read('docs/architecture.md'));
  const problems: string[] = [];
  for (const dir of WORKSPACES) {
    const pkg = packageJson(dir);
    const allowed = rule.get(pkg.name);
    if (!allowed) continue; // reported by the test above
    const sourceRoot = dir === 'test' ? 'test' : `${dir}/src`;
    for (const file of filesUnder(sourceRoot, (n) => n.endsWith('.ts'))) {
      const testOnly = /\.test\.ts$|\/test-support\/|test-support\.ts$|\/testing\//.test(file);
      for (const dep of poste(read(file))) {
        if (dep === pkg.name) continue;
        if (allowed !== 'any' && !allowed.includes(dep)) {
          problems.push(`${file}: imports ${dep}, which docs/architecture.md does not allow for ${pkg.name}`);
        }
        const declared = { ...pkg.dependencies, ...pkg.peerDependencies, ...(testOnly ? pkg.devDependencies : {}) };
        if (!(dep in declared)) {
          problems.push(
            `${file}: imports ${dep}, missing from ${dir}/package.json ${testOnly ? 'dependencies or devDependencies' : 'dependencies'}`,
          );
        }
      }
    }
  }
  assert.deepEqual(problems, [], `import rule broken:\n  ${problems.join('\n  ')}`);
});

test('conventions: every package with a src/cli.ts declares a bin', () => {
  const problems = WORKSPACES.filter((dir) => existsSync(join(ROOT, dir, 'src/cli.ts')))
    .filter((dir) => {
      const bin = packageJson(dir).bin;
      return bin === undefined || (typeof bin === 'object' && Object.keys(bin).length === 0);
    })
    .map((dir) => `${dir}/package.json: has src/cli.ts but no "bin"`);
  assert.deepEqual(problems, [], problems.join('\n'));
});

test('conventions: no document or source points outside the repository', () => {
  const files = filesUnder('.', (n) => /\.(md|ts|mjs|json|sh)$/.test(n) && n !== 'package-lock.json').filter(
    (f) => f !== './test/conventions.test.ts',
  );
  const outside = /\.\.\/shared\b|shared\/DESIGN|\bDESIGN(\.md| §)/;
  const hits = files.filter((f) => outside.test(read(f))).map((f) => relative('.', f));
  assert.deepEqual(hits, [], `references to files outside the repository (point to docs/ instead):\n  ${hits.join('\n  ')}`);
});
