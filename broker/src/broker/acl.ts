import { gatewayNamespace, isValidId, ROOT } from '@poste/protocol';
import type { Principal } from '../credentials/store';

/** Topics only the cloud writes to a gateway: a gateway may subscribe to them, never publish. */
const SOUTHBOUND_SUFFIXES = ['cmd', 'config/desired', 'ota/job', 'ota/chunk'] as const;
const GW_ROOT = `${ROOT}/gw/`;

/**
 * May `principal` publish on `topic`? A gateway only inside its own namespace and never on its
 * southbound topics; a service only on any gateway's southbound topics. Everything else — other
 * gateways' namespaces, `$SYS`, topics outside poste/v1/gw — is denied.
 */
export function canPublish(principal: Principal, topic: string): boolean {
  if (topic.includes('+') || topic.includes('#')) return false;
  if (principal.role === 'gateway') {
    const ns = gatewayNamespace(principal.id);
    if (!topic.startsWith(ns)) return false;
    const rest = topic.slice(ns.length);
    return rest.length > 0 && !(SOUTHBOUND_SUFFIXES as readonly string[]).includes(rest);
  }
  const m = /^poste\/v1\/gw\/([^/]+)\/(.+)$/.exec(topic);
  return m !== null && isValidId(m[1]!) && (SOUTHBOUND_SUFFIXES as readonly string[]).includes(m[2]!);
}

/**
 * May `principal` subscribe to `filter`? A gateway only to its own southbound topics (cmd, config/desired, ota/job, ota/chunk), exactly;
 * a service to anything under poste/v1/gw/ (wildcards included). `$SYS/#` and `#` are never allowed.
 */
export function canSubscribe(principal: Principal, filter: string): boolean {
  if (principal.role === 'gateway') {
    const ns = gatewayNamespace(principal.id);
    return SOUTHBOUND_SUFFIXES.some((s) => filter === `${ns}${s}`);
  }
  return filter.startsWith(GW_ROOT) && filter.length > GW_ROOT.length;
}
