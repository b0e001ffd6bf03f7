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
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    clean: true,
    // A service's client id starts with its username: the broker refuses any other (no session takeover).
    clientId: `${credentials.username}-city-config-${process.pid}`,
    username: credentials.username,
    password: credentials.password,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  });
  try {
    for (const [gateway, desired] of configs) {
      await client.publishAsync(topic('configDesired', { gateway }), encode(desired), { qos: 1, retain: true });
    }
  } finally {
    await client.endAsync();
  }
}
