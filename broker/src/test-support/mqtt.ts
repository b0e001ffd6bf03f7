import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';

/** A quiet logger for tests. */
export const silentLogger = pino({ level: 'silent' });

/** Connects the real mqtt client without reconnecting, so a refusal surfaces as an error. */
export function connect(port: number, username: string, password: string, clientId = username): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    username,
    password,
    clientId,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    protocolVersion: 4,
  });
}

/** The CONNACK return code of a refused connection attempt (throws if it was accepted). */
export async function refusalCode(port: number, username: string, password: string, clientId = username): Promise<number> {
  try {
    const c = await connect(port, username, password, clientId);
    await c.endAsync();
  } catch (err) {
    return Number((err as { code?: unknown }).code);
  }
  throw new Error('connection was accepted');
}

/** Resolves once the client's connection is closed. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve();
    client.once('close', () => resolve());
  });
}
