// A child process that loads an MQTT broker the way gateways do: each client keeps up to `window`
// QoS 1 publishes awaiting their PUBACK. Run apart from the broker so the two do not share a
// thread. Input: one JSON argument (LoadSpec); output: one JSON line (LoadResult) on stdout.
import { connectAsync, type MqttClient } from 'mqtt';

export interface LoadClient {
  clientId: string;
  username?: string;
  password?: string;
  topic: string;
  /** readings carried by each message, device ids prefixed with this */
  devicePrefix: string;
}

export interface LoadSpec {
  url: string;
  clients: LoadClient[];
  messagesPerClient: number;
  readingsPerMessage: number;
  window: number;
  /** first reading timestamp (ms); readings step by 1 s per message */
  startTs: number;
  /** pace each client to this many messages per second (open loop within the window); default: as fast as acks allow */
  messagesPerSecondPerClient?: number;
}

export interface LoadResult {
  messages: number;
  readings: number;
  ms: number;
  msgsPerSec: number;
  readingsPerSec: number;
  errors: number;
  /** publish → PUBACK latency percentiles, ms */
  ackP50: number;
  ackP99: number;
}

export function luminaireBatch(prefix: string, seq: number, n: number, ts: number): Buffer {
  const readings = [];
  for (let i = 0; i < n; i++) {
    readings.push({
      device: `${prefix}-${i}`,
      ts,
      activePower: 84.5,
      activeEnergy: 1_000 + seq * 1.4,
      dimLevel: 70,
      voltage: 221.7,
      current: 0.39,
      powerFactor: 0.97,
      operatingHours: 100 + seq / 3600,
      switchOnCounter: 12,
      status: 'ok',
      group: 'g1',
    });
  }
  return Buffer.from(JSON.stringify({ v: 1, seq, readings }));
}

function connectClient(c: LoadClient, spec: LoadSpec): Promise<MqttClient> {
  return connectAsync(spec.url, {
    clientId: c.clientId,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    ...(c.username !== undefined && { username: c.username }),
    ...(c.password !== undefined && { password: c.password }),
  });
}

async function runClient(
  client: MqttClient,
  c: LoadClient,
  spec: LoadSpec,
  latencies: number[],
): Promise<{ sent: number; errors: number }> {
  let sent = 0;
  let errors = 0;
  let next = 0;
  await new Promise<void>((resolve) => {
    let inFlight = 0;
    const t0 = performance.now();
    const rate = spec.messagesPerSecondPerClient;
    let _timer: NodeJS.Timeout | null = null;
    const pump = (): void => {
      while (inFlight < spec.window && next < spec.messagesPerClient) {
        if (rate !== undefined) {
          // Open loop: message k is due at t0 + k / rate; wait for it rather than bunching up.
          const due = t0 + (next * 1000) / rate;
          const wait = due - performance.now();
          if (wait > 0) {
            _timer ??= setTimeout(() => {
              _timer = null;
              pump();
            }, wait);
            return;
          }
        }
        const seq = next++;
        inFlight++;
        const sentAt = performance.now();
        client.publish(
          c.topic,
          luminaireBatch(c.devicePrefix, seq, spec.readingsPerMessage, spec.startTs + seq * 1000),
          { qos: 1 },
          (err) => {
            inFlight--;
            if (err) errors++;
            else {
              sent++;
              latencies.push(performance.now() - sentAt);
            }
            if (next >= spec.messagesPerClient && inFlight === 0) resolve();
            else pump();
          },
        );
      }
    };
    pump();
  });
  await client.endAsync();
  return { sent, errors };
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const latencies: number[] = [];
  // Logins (scrypt on the Poste broker) are not part of the throughput: connect everyone first.
  const connected = await Promise.all(spec.clients.map((c) => connectClient(c, spec)));
  const t0 = performance.now();
  const results = await Promise.all(spec.clients.map((c, i) => runClient(connected[i]!, c, spec, latencies)));
  const ms = performance.now() - t0;
  const messages = results.reduce((n, r) => n + r.sent, 0);
  const out: LoadResult = {
    messages,
    readings: messages * spec.readingsPerMessage,
    ms,
    msgsPerSec: (messages / ms) * 1000,
    readingsPerSec: ((messages * spec.readingsPerMessage) / ms) * 1000,
    errors: results.reduce((n, r) => n + r.errors, 0),
    ackP50: pct(latencies, 50),
    ackP99: pct(latencies, 99),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  main().catch((err: unknown) => {
    process.stderr.write(`mqtt-load: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
