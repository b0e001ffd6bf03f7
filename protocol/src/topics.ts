import { isValidId } from './ids';

/** Versioned root of every Poste topic. */
export const ROOT = 'poste/v1';

/**
 * Every topic of the contract, as a template. Northbound/cloud topics live under the gateway's
 * namespace `poste/v1/gw/{gateway}/…` so one ACL rule isolates gateways; `local*` topics exist only
 * on a gateway's LAN endpoint between the agent and its devices.
 */
export const TOPICS = {
  gatewayState: 'poste/v1/gw/{gateway}/state',
  deviceState: 'poste/v1/gw/{gateway}/dev/{device}/state',
  luminaireTelemetry: 'poste/v1/gw/{gateway}/telemetry/luminaire',
  apTelemetry: 'poste/v1/gw/{gateway}/telemetry/ap',
  events: 'poste/v1/gw/{gateway}/events',
  command: 'poste/v1/gw/{gateway}/cmd',
  ack: 'poste/v1/gw/{gateway}/ack',
  configDesired: 'poste/v1/gw/{gateway}/config/desired',
  configReported: 'poste/v1/gw/{gateway}/config/reported',
  otaJob: 'poste/v1/gw/{gateway}/ota/job',
  otaChunk: 'poste/v1/gw/{gateway}/ota/chunk',
  otaStatus: 'poste/v1/gw/{gateway}/ota/status',
  localDeviceState: 'poste/v1/dev/{device}/state',
  localTelemetry: 'poste/v1/dev/{device}/telemetry',
  localEvent: 'poste/v1/dev/{device}/event',
  localCommand: 'poste/v1/dev/{device}/cmd',
  localAck: 'poste/v1/dev/{device}/ack',
  localOta: 'poste/v1/dev/{device}/ota',
  localOtaStatus: 'poste/v1/dev/{device}/ota/status',
} as const;

export type TopicKind = keyof typeof TOPICS;

type ParamNames<T extends string> = T extends `${string}{${infer P}}${infer Rest}` ? P | ParamNames<Rest> : never;
export type TopicParams<K extends TopicKind> = { [P in ParamNames<(typeof TOPICS)[K]>]: string };

/** Builds a concrete topic; throws on an id that is not topic-safe (a programming error). */
export function topic<K extends TopicKind>(kind: K, params: TopicParams<K>): string {
  return TOPICS[kind].replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = (params as Record<string, string>)[name];
    if (value === undefined || !isValidId(value)) {
      throw new Error(`topic ${kind}: invalid ${name} ${JSON.stringify(value)}`);
    }
    return value;
  });
}

/** MQTT filter for one kind: each `{param}` becomes `+`, or the given value. */
export function topicFilter<K extends TopicKind>(kind: K, params: Partial<TopicParams<K>> = {}): string {
  return TOPICS[kind].replace(/\{(\w+)\}/g, (_, name: string) => (params as Record<string, string>)[name] ?? '+');
}

export type ParsedTopic = { [K in TopicKind]: { kind: K; params: TopicParams<K> } }[TopicKind];

const compiled = (Object.keys(TOPICS) as TopicKind[]).map((kind) => {
  const names: string[] = [];
  const source = TOPICS[kind]
    .split('/')
    .map((seg) => {
      const m = /^\{(\w+)\}$/.exec(seg);
      if (m) {
        names.push(m[1]!);
        return '([^/+#]+)';
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { kind, names, re: new RegExp(`^${source}$`) };
});

/** Parses a concrete topic into its kind and parameters; null when it is not a Poste topic. */
export function parseTopic(t: string): ParsedTopic | null {
  for (const { kind, names, re } of compiled) {
    const m = re.exec(t);
    if (!m) continue;
    const params: Record<string, string> = {};
    for (let i = 0; i < names.length; i++) {
      const value = m[i + 1]!;
      if (!isValidId(value)) return null;
      params[names[i]!] = value;
    }
    return { kind, params } as ParsedTopic;
  }
  return null;
}

/** The namespace a gateway may use: `poste/v1/gw/{gateway}/`. */
export function gatewayNamespace(gateway: string): string {
  return `${ROOT}/gw/${gateway}/`;
}
