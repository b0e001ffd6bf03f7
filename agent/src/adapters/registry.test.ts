import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPayloadError, toPayloadError } from '@poste/protocol';
import { startAgent } from '../core/agent';
import { AgentFileOptionsSchema } from '../core/options';
import { silentLogger } from '../core/test-support';
import { ADAPTER_KINDS, AdapterConfigListSchema, DEVICE_ADAPTERS, adapterInstanceNames } from './registry';

const base = { gatewayId: 'gw-reg', north: { url: 'mqtt://127.0.0.1:1' } };

function fileError(value: unknown): string {
  const r = AgentFileOptionsSchema.safeParse(value);
  assert.equal(r.success, false, 'expected the config to be refused');
  return formatPayloadError(toPayloadError(r.error!));
}

test('adapter registry: every kind in the table is unique and has a strict config schema keyed on its kind', () => {
  assert.deepEqual(
    ADAPTER_KINDS,
    DEVICE_ADAPTERS.map((d) => d.kind),
  );
  assert.equal(new Set(ADAPTER_KINDS).size, ADAPTER_KINDS.length);
  for (const d of DEVICE_ADAPTERS) {
    assert.equal(d.configSchema.shape.kind.value, d.kind);
    assert.equal(d.configSchema.safeParse({ kind: d.kind, port: 1, misspelt: true }).success, false, `${d.kind} schema is strict`);
  }
});

test('adapter registry: an unknown kind is refused with its path and the registered kinds', async () => {
  const message = fileError({
    ...base,
    adapters: [
      { kind: 'poste', port: 0, auth: { mode: 'open' } },
      { kind: 'zigbee', channel: 11 },
    ],
  });
  assert.equal(message, 'adapters[1].kind: unknown adapter kind "zigbee"; registered kinds: poste, tasmota, openwrt');
  assert.match(
    fileError({ ...base, adapters: [{ port: 0 }] }),
    /^adapters\[0\]\.kind: unknown adapter kind undefined; registered kinds: poste, tasmota, openwrt$/,
  );
  // startAgent says the same before opening any port.
  await assert.rejects(
    startAgent({ ...base, configVersion: 2, adapters: [{ kind: 'zigbee' as 'poste', port: 0 }], logger: silentLogger }),
    /invalid agent options: adapters\[0\]\.kind: unknown adapter kind "zigbee"/,
  );
});

test('adapter registry: a known kind with a bad field names the field; an empty list is refused', () => {
  assert.match(fileError({ ...base, adapters: [{ kind: 'poste', port: 70_000, auth: { mode: 'open' } }] }), /^adapters\[0\]\.port: /);
  assert.match(fileError({ ...base, adapters: [{ kind: 'poste', port: 0, auth: { mode: 'open' }, hots: 'x' }] }), /^adapters\[0\]: .*hots/);
  assert.equal(fileError({ ...base, adapters: [] }), 'adapters: an agent needs at least one device adapter');
});

test('adapter registry: instance names default to the kind, then kind-2…; duplicates are refused with the path', () => {
  assert.deepEqual(adapterInstanceNames([{ kind: 'poste' }, { kind: 'poste' }, { kind: 'poste', name: 'street-b' }, { kind: 'poste' }]), [
    'poste',
    'poste-2',
    'street-b',
    'poste-4',
  ]);
  const r = AdapterConfigListSchema.safeParse([
    { kind: 'poste', port: 0, auth: { mode: 'open' } },
    { kind: 'poste', name: 'poste', port: 0, auth: { mode: 'open' } },
  ]);
  assert.equal(r.success, false);
  assert.equal(
    formatPayloadError(toPayloadError(r.error!)),
    '[1].name: adapter name poste is already used by adapters[0]; give each instance a distinct name',
  );
  assert.equal(AdapterConfigListSchema.safeParse([{ kind: 'poste', name: 'Bad Name', port: 0 }]).success, false);
});
