import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CredentialsFileError, parseCredentials } from './store';

/** Generated inputs (issue 8: at least 10,000 per parser in CI). */
const RUNS = 10_000;
const SEED = 20_261_124;

const name = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/), fc.string({ maxLength: 70 }));
const hash = fc.oneof(fc.constant('scrypt$16384$8$1$c2FsdA==$aGFzaA=='), fc.string({ maxLength: 40 }));
const stamp = fc.oneof(fc.constant('2026-01-01T00:00:00Z'), fc.string({ maxLength: 30 }), fc.integer());
const gateway = fc.record({ id: name, municipality: name, passwordHash: hash, revokedAt: stamp, rotatedAt: stamp }, { requiredKeys: [] });
const service = fc.record(
  { username: name, role: fc.constantFrom('service', 'admin'), passwordHash: hash, revokedAt: stamp },
  { requiredKeys: [] },
);
const fileLike = fc.oneof(
  fc
    .record(
      {
        version: fc.oneof(fc.constantFrom(1, 2, 3), fc.jsonValue({ maxDepth: 1 })),
        gateways: fc.oneof(fc.array(gateway, { maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })),
        services: fc.oneof(fc.array(service, { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)),
  fc.integer({ min: 1, max: 2_000 }).map((n) => `{"gateways":${'['.repeat(n)}${']'.repeat(n)}}`),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

describe('fuzz: credentials file parser', () => {
  it(`${RUNS} files: parseCredentials returns a store or throws CredentialsFileError naming the file — nothing else`, () => {
    fc.assert(
      fc.property(fileLike, (text) => {
        try {
          const store = parseCredentials(text, 'credentials.json');
          assert.equal(store.data.version, 2);
          for (const g of store.data.gateways) assert.equal(store.directory().get(g.id), g.municipality);
        } catch (err) {
          if (!(err instanceof CredentialsFileError)) throw err;
          assert.match(err.message, /^credentials\.json: /);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('a 200,000-deep file is refused with a reason, not a stack overflow', () => {
    const deep = `{"gateways":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    assert.throws(() => parseCredentials(deep, 'credentials.json'), CredentialsFileError);
  });
});
