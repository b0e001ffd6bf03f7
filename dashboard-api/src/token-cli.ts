import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, type Io } from '@poste/cli-kit';
import { RoleSchema, ROLES } from './auth/roles';
import { createTokenStore, TokenNameSchema } from './auth/token-store';

export const TOKEN_USAGE = `poste-dashboard token — API tokens (stored hashed in DIR/tokens.json)

Usage:
  poste-dashboard token create --role ROLE --name NAME [--data-dir DIR]
      Prints the new token once (it is not kept in clear anywhere). Roles, each including the
      ones before: ${ROLES.join(', ')}. Writes need operator or above.
  poste-dashboard token list [--data-dir DIR]
  poste-dashboard token revoke --id ID [--data-dir DIR]
      A running server applies a new or revoked token at once (no restart).

--data-dir DIR defaults to $POSTE_DATA (the directory \`npm start\` and poste-dashboard serve use).
Exit codes: 0 done, 1 failure (unreadable token file), 2 usage error, 3 unknown token id.
`;

function dataDirOf(values: { 'data-dir'?: string | undefined }, env: Readonly<Record<string, string | undefined>>): string {
  const dir = values['data-dir'] ?? env.POSTE_DATA;
  if (dir === undefined || dir === '') throw new UsageError('missing --data-dir (or POSTE_DATA)');
  return dir;
}

/** `poste-dashboard token …`; resolves to the exit code. */
export async function tokenCommand(argv: string[], io: Io, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === undefined || sub === '--help' || sub === '-h') {
      (sub === undefined ? io.err : io.out)(TOKEN_USAGE);
      return sub === undefined ? 2 : 0;
    }
    const { values } = parseArgs({
      args: rest,
      options: {
        role: { type: 'string' },
        name: { type: 'string' },
        id: { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      io.out(TOKEN_USAGE);
      return 0;
    }
    const tokens = createTokenStore({ file: join(dataDirOf(values, env), 'tokens.json') });
    if (sub === 'create') {
      const role = RoleSchema.safeParse(values.role);
      if (!role.success) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(values.role ?? '')}`);
      const name = TokenNameSchema.safeParse(values.name);
      if (!name.success) throw new UsageError(`--name: ${name.error.issues[0]?.message ?? 'invalid'}`);
      const { token, info } = await tokens.create({ name: name.data, role: role.data });
      io.err(`created token ${info.id} "${info.name}" (${info.role}); it is shown once — send it as Authorization: Bearer TOKEN`);
      io.out(token);
      return 0;
    }
    if (sub === 'list') {
      for (const t of await tokens.list()) {
        io.out(
          `${t.id}  ${t.role.padEnd(10)}  ${new Date(t.createdAt).toISOString()}  ${t.revokedAt !== undefined ? 'revoked' : 'active '}  ${t.name}`,
        );
      }
      return 0;
    }
    if (sub === 'revoke') {
      if (values.id === undefined) throw new UsageError('missing --id (see poste-dashboard token list)');
      const revoked = await tokens.revoke(values.id);
      if (!revoked) {
        io.err(`poste-dashboard token: no token with id ${values.id}`);
        return 3;
      }
      io.out(`revoked ${revoked.id} "${revoked.name}"`);
      return 0;
    }
    throw new UsageError(`unknown token command ${JSON.stringify(sub)} (create, list, revoke)`);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`poste-dashboard token: ${(err as Error).message}\n\nRun poste-dashboard token --help for usage.`);
      return 2;
    }
    io.err(`poste-dashboard token: ${(err as Error).message}`);
    return 1;
  }
}
