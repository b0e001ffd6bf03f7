// The device ACL of the LAN broker, as pure decisions (lan-broker.ts's policy applies them to what lan-server.ts parses).
import { isValidId, parseTopic } from '@poste/protocol';

/** Why the LAN broker refused something: the label of `poste_agent_lan_refused_total`. */
export const LAN_REFUSALS = [
  'client-id',
  'bad-credentials',
  'before-connack',
  'publish-topic',
  'publish-command',
  'retain',
  'retained-quota',
  'subscribe-topic',
  'packet-too-large',
  'rate',
  'connections',
  'connect-timeout',
  'keepalive-timeout',
  'malformed',
] as const;
export type LanRefusal = (typeof LAN_REFUSALS)[number];

export class LanRefusals {
  readonly #counts = new Map<LanRefusal, number>(LAN_REFUSALS.map((r) => [r, 0]));

  count(reason: LanRefusal): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
  }

  get(reason: LanRefusal): number {
    return this.#counts.get(reason) ?? 0;
  }

  /** `refused.<reason>` keys, the shape adapter transport stats and /metrics read. */
  asStats(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [r, n] of this.#counts) out[`refused.${r}`] = n;
    return out;
  }
}

/**
 * MQTT 3.1.1 §3.1.3.1: a server MUST accept client ids of 1–23 characters of 0-9a-zA-Z and MAY
 * accept more. This endpoint accepts exactly Poste's id syntax (1–64 of A-Za-z0-9 . _ -, starting
 * alphanumeric): a superset of the required set, because a device's client id IS its device id
 * (and its username), which appears in topics (`lum-0001`, 64 chars at most); anything else —
 * topic wildcards, slashes, spaces, control characters — can only be a mistake or an attack.
 * The empty id is handled separately (see emptyClientId).
 */
export function clientIdAcceptable(id: string): boolean {
  return isValidId(id);
}

/**
 * [MQTT-3.1.3-7/8]: an empty client id with CleanSession=0 MUST be refused with CONNACK 2; with
 * CleanSession=1 a server MAY assign one. In credentials mode a device must name itself (it is
 * its identity), so it is refused too; in open mode an id is assigned.
 */
export function emptyClientIdAllowed(clean: boolean, mode: 'open' | 'credentials'): boolean {
  return clean && mode === 'open';
}

export type Decision = { ok: true } | { ok: false; reason: LanRefusal; detail: string };

const allow: Decision = { ok: true };
const refuse = (reason: LanRefusal, detail: string): Decision => ({ ok: false, reason, detail });

/** The device topics a device may publish on (its own): state (births, wills), telemetry, events, acks. */
const OWN_PUBLISH_KINDS = new Set(['localDeviceState', 'localTelemetry', 'localEvent', 'localAck', 'localOtaStatus']);

/**
 * May `deviceId` (null = open mode: any client, no identity) publish on `topic`? No one but the
 * agent may publish a command; an identified device publishes only its own topics and retains
 * only its own state.
 */
export function mayPublish(deviceId: string | null, topic: string, retain: boolean): Decision {
  const parsed = parseTopic(topic);
  if (parsed?.kind === 'localCommand') return refuse('publish-command', `${topic}: only the agent publishes commands`);
  if (deviceId === null) return allow;
  const device = parsed !== null && 'device' in parsed.params ? parsed.params.device : undefined;
  if (parsed === null || !OWN_PUBLISH_KINDS.has(parsed.kind) || device !== deviceId) {
    return refuse('publish-topic', `${topic}: device ${deviceId} may publish only on poste/v1/dev/${deviceId}/{state,telemetry,event,ack}`);
  }
  if (retain && parsed.kind !== 'localDeviceState') return refuse('retain', `${topic}: only a device's own state may be retained`);
  return allow;
}

/** May `deviceId` subscribe to `filter`? An identified device reads only its own command and OTA topics. */
export function maySubscribe(deviceId: string | null, filter: string): Decision {
  if (deviceId === null) return allow;
  const own = `poste/v1/dev/${deviceId}/cmd`;
  if (filter === `poste/v1/dev/${deviceId}/ota`) return allow;
  return filter === own ? allow : refuse('subscribe-topic', `${filter}: device ${deviceId} may subscribe only to ${own} (and its ota)`);
}
