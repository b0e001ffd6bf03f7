import { encode, parseJson, topic, type DesiredConfig } from '@poste/protocol';
import mqtt from 'mqtt';
import { GATEWAY } from './fleet';

/** A cloud service user on the broker (what publishes desired configs and reads reported ones). */
export interface CloudCredentials {
  username: string;
  password: string;
}

async function connect(url: string, who: CloudCredentials) {
  return mqtt.connectAsync(url, {
    protocolVersion: 4,
    clean: true,
    clientId: `fault-rig-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    username: who.username,
    password: who.password,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  });
}

/** Publishes the gateway's desired config, retained, as the cloud does. */
export async function publishDesired(url: string, who: CloudCredentials, desired: DesiredConfig): Promise<void> {
  const client = await connect(url, who);
  try {
    await client.publishAsync(topic('configDesired', { gateway: GATEWAY }), encode(desired), { qos: 1, retain: true });
  } finally {
    await client.endAsync();
  }
}

/** Clears the gateway's retained desired config (an empty retained payload deletes it). */
export async function clearDesired(url: string, who: CloudCredentials): Promise<void> {
  const client = await connect(url, who);
  try {
    await client.publishAsync(topic('configDesired', { gateway: GATEWAY }), Buffer.alloc(0), { qos: 1, retain: true });
  } finally {
    await client.endAsync();
  }
}

/**
 * What a new subscriber gets as the retained message of `kind` (desired or reported config), or
 * undefined when nothing is retained within `waitMs`; `accept` lets a caller wait for a given one.
 */
export async function retainedConfig(
  url: string,
  who: CloudCredentials,
  kind: 'configDesired' | 'configReported',
  waitMs = 2_000,
  accept: (value: Record<string, unknown>) => boolean = () => true,
): Promise<Record<string, unknown> | undefined> {
  const client = await connect(url, who);
  try {
    const t = topic(kind, { gateway: GATEWAY });
    const got = new Promise<Record<string, unknown> | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      client.on('message', (_topic, payload) => {
        const json = parseJson(payload);
        if (json.ok && typeof json.value === 'object' && json.value !== null && accept(json.value as Record<string, unknown>)) {
          clearTimeout(timer);
          resolve(json.value as Record<string, unknown>);
        }
      });
    });
    await client.subscribeAsync(t, { qos: 1 });
    return await got;
  } finally {
    await client.endAsync();
  }
}
