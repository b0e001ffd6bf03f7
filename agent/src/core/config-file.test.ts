// Fuzzing the agent config parser (the file a gateway is provisioned with) with fast-check:
// 10,000 generated inputs — arbitrary text, arbitrary JSON, and valid configs with one field
// replaced by an arbitrary value or one key added. The parser never throws; a refusal names the
// file, and for a changed field of a valid config the path of that field, with a reason; what it
// accepts validates again as the current settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAgentConfig } from './config-file';
import { AgentFileOptionsSchema } from './options';

const FILE = '/etc/poste/agent.json';

const valid = {
  configVersion: 3,
  gatewayId: 'gw-fuzz',
  north: { url: 'mqtt://broker.example:1883', username: 'gw-fuzz', password: 'x' },
  adapters: [{ kind: 'poste', host: '0.0.0.0', port: 1884, auth: { mode: 'credentials', credentialsFile: 'devices.json' } }],
  telemetry: { batchMaxReadings: 500, batchMaxDelayMs: 1_000 },
  dataDir: '/var/lib/poste',
  logLevel: 'info',
};

/** The valid config's fields: the path errors name, and the keys to reach it. */
const FIELDS: Array<[string, Array<string | number>]> = [
  ['configVersion', ['configVersion']],
  ['gatewayId', ['gatewayId']],
  ['north.url', ['north', 'url']],
  ['north.username', ['north', 'username']],
  ['adapters[0].port', ['adapters', 0, 'port']],
  ['adapters[0].auth', ['adapters', 0, 'auth']],
  ['telemetry.batchMaxReadings', ['telemetry', 'batchMaxReadings']],
  ['logLevel', ['logLevel']],
];

function setAt(target: unknown, keys: Array<string | number>, value: unknown): void {
  let at = target as Record<string | number, unknown>;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  at[keys[keys.length - 1]!] = value;
}

test('config file fuzz: 10,000 generated files — never a throw; every refusal names the file (and the changed field) with a reason; every acceptance is valid settings', () => {
  let accepted = 0;
  let refused = 0;
  const text = fc.oneof(
    { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 3, arbitrary: fc.json({ maxDepth: 4 }) },
    {
      weight: 5,
      arbitrary: fc.tuple(fc.nat({ max: FIELDS.length - 1 }), fc.jsonValue({ maxDepth: 2 })).map(([i, v]) => {
        const copy = structuredClone(valid) as Record<string, unknown>;
        setAt(copy, FIELDS[i]![1], v);
        return { text: JSON.stringify(copy), field: FIELDS[i]![0] };
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }))
        .map(([k, v]) => ({ text: JSON.stringify({ ...valid, [`x${k}`]: v }), field: `x${k}` })),
    },
  );
  fc.assert(
    fc.property(text, (input) => {
      const { text: t, field } = typeof input === 'string' ? { text: input, field: undefined } : input;
      const r = parseAgentConfig(t, FILE);
      if (r.ok) {
        accepted++;
        assert.ok(AgentFileOptionsSchema.safeParse(r.options).success, 'what is accepted is valid settings');
        return;
      }
      refused++;
      assert.ok(r.error.startsWith(`${FILE}: `), r.error);
      assert.ok(r.error.length > FILE.length + 4, 'with a reason');
      // A changed field is named (an unknown key is named by the object holding it, with the key in the reason).
      if (field !== undefined && !field.startsWith('x'))
        assert.ok(r.error.includes(`${FILE}: ${field}`) || r.error.includes(`${FILE}: ${field.split(/[.[]/)[0]}`), `${field}: ${r.error}`);
      if (field?.startsWith('x')) assert.ok(r.error.includes(field), r.error);
    }),
    { numRuns: 10_000, seed: 0x0c0f },
  );
  assert.equal(accepted + refused, 10_000);
  assert.ok(accepted > 0 && refused > 0, `${accepted} accepted, ${refused} refused`);
});
