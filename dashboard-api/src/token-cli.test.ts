import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTokenStore } from './auth/token-store';
import { main } from './cli';

function capture(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return { ctx: { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, env }, out, err };
}

test('poste-dashboard token create/list/revoke: hashed at rest (0600), the server-side store verifies and forgets revoked tokens', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'poste-token-cli-'));
  try {
    const c = capture();
    assert.equal(await main(['token', 'create', '--role', 'viewer', '--name', 'painel', '--data-dir', dir], c.ctx), 0);
    const token = c.out[0]!;
    assert.match(token, /^pst_[A-Za-z0-9_-]{43}$/);
    const file = join(dir, 'tokens.json');
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes(token.slice(4)), 'the secret is not stored');
    assert.equal((await stat(file)).mode & 0o777, 0o600);

    // A server-side store over the same file (as poste-dashboard serve runs it).
    const server = createTokenStore({ file });
    assert.deepEqual(await server.verify(token), { tokenId: JSON.parse(text).tokens[0].id, name: 'painel', role: 'viewer' });
    assert.equal(await server.verify(`${token}x`), undefined);

    const viaEnv = capture({ POSTE_DATA: dir });
    assert.equal(await main(['token', 'list'], viaEnv.ctx), 0);
    assert.match(viaEnv.out.join('\n'), /viewer .* active +painel/);
    const id = viaEnv.out[0]!.split(' ')[0]!;
    assert.equal(await main(['token', 'revoke', '--id', id, '--data-dir', dir], capture().ctx), 0);
    // The running store re-reads the changed file within a second.
    await new Promise((r) => setTimeout(r, 1_050));
    assert.equal(await server.verify(token), undefined);
    assert.equal(await main(['token', 'revoke', '--id', 'ffffffffffff', '--data-dir', dir], capture().ctx), 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('poste-dashboard token: usage errors exit 2 naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [
      ['token', 'create', '--role', 'boss', '--name', 'x', '--data-dir', '/tmp/x'],
      /--role must be one of viewer, operator, technician, admin/,
    ],
    [['token', 'create', '--role', 'admin', '--name', '', '--data-dir', '/tmp/x'], /--name: token name/],
    [['token', 'create', '--role', 'admin', '--name', 'x'], /missing --data-dir \(or POSTE_DATA\)/],
    [['token', 'rotate', '--data-dir', '/tmp/x'], /unknown token command "rotate"/],
    [['token', 'revoke', '--data-dir', '/tmp/x'], /missing --id/],
  ];
  for (const [argv, message] of cases) {
    const c = capture();
    assert.equal(await main(argv, c.ctx), 2, argv.join(' '));
    assert.match(c.err.join('\n'), message, argv.join(' '));
  }
});
