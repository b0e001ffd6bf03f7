import { encode, topic, type DesiredConfig } from '@poste/protocol';
import mqtt from 'mqtt';

/**
 * Publishes each gateway's desired config, retained, as a cloud service user would (the ACL lets
 * services write `config/desired`). Agents apply a version only if it is newer than the one they
 * applied, so republishing the same version on every start is harmless.
 */
export async function publishDesiredConfigs(
  url: string,
  credentials: { username: string; password: string },
  configs: ReadonlyMap<string, DesiredConfig>,
): Promise<void> {
  const client = await connectWithRetries(url, credentials);
  try {
    for (const [gateway, desired] of configs) {
      await client.publishAsync(topic('configDesired', { gateway }), encode(desired), { qos: 1, retain: true });
    }
  } finally {
    await client.endAsync();
  }
}

/** A large city's gateways all log in as it starts: the broker may refuse or delay this login for a while (its login guard). */
const CONNECT_ATTEMPTS = 12;

async function connectWithRetries(url: string, credentials: { username: string; password: string }): Promise<mqtt.MqttClient> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await mqtt.connectAsync(url, {
        protocolVersion: 4,
        clean: true,
        // A service's client id starts with its username: the broker refuses any other (no session takeover).
        clientId: `${credentials.username}-city-config-${process.pid}`,
        username: credentials.username,
        password: credentials.password,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
      });
    } catch (err) {
      if (attempt >= CONNECT_ATTEMPTS) throw new Error(`publishing the desired configs: ${(err as Error).message} (${attempt} attempts)`);
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}
