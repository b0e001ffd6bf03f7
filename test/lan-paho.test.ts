// Eclipse Paho's MQTT 3.1.1 interoperability client tests (vendored in
// agent/src/adapters/poste/paho-interop, run by its run_device_endpoint.py with plain python3)
// against the agent's LAN endpoint in open mode: the suite's topics (TopicA, +/+ …) are not
// device topics, so the device ACL of credentials mode would refuse them by design. Which cases
// apply to a device endpoint and which do not (and why): agent/src/adapters/poste/README.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startAgent } from '@poste/agent';
import { spawnOwned } from './harness/children';

const RUNNER = fileURLToPath(new URL('../agent/src/adapters/poste/paho-interop/run_device_endpoint.py', import.meta.url));
const APPLICABLE = [
  'testBasic',
  'test_retained_messages',
  'test_zero_length_clientid',
  'test_offline_message_queueing',
  'test_overlapping_subscriptions',
  'test_keepalive',
  'test_redelivery_on_reconnect',
  'test_dollar_topics',
  'test_unsubscribe',
];

test('Paho interoperability client tests that apply to a device endpoint pass against the agent’s LAN broker', async () => {
  // The uplink is never reached (nothing listens on port 1): the LAN side works without it.
  const agent = await startAgent({
    configVersion: 3,
    gatewayId: 'gw-paho',
    north: { url: 'mqtt://127.0.0.1:1', reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } },
    adapters: [{ kind: 'poste', port: 0, auth: { mode: 'open' } }],
    logger: pino({ level: 'silent' }),
    dimming: { enabled: false },
  });
  try {
    const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawnOwned('python3', [RUNNER, '127.0.0.1', String(agent.localPort), ...APPLICABLE], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
      child.on('exit', (code) => resolve({ code, out }));
    });
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, new RegExp(`Ran ${APPLICABLE.length} tests`));
    for (const name of APPLICABLE)
      assert.match(run.out, new RegExp(`${name} \\(client_test\\.Test\\.${name}\\) \\.\\.\\. [\\s\\S]*?ok\\n`));
    const t = agent.stats().adapters.poste!.transport;
    // The suite's refusals, counted: a zero-length client id without clean session (CONNACK 2), a
    // second CONNECT on one connection and a CONNECT with a wrong protocol name, a client silent
    // past its keepalive (its will published).
    assert.equal(t['refused.client-id'], 1);
    assert.equal(t['refused.malformed'], 2);
    assert.equal(t['refused.keepalive-timeout'], 1);
  } finally {
    await agent.stop({ abrupt: true });
  }
});
