import type { Principal } from '../credentials/store';

/** Why a client id was refused for a principal (CONNACK 2, identifier rejected). */
export type ClientIdRefusal = 'client-id-mismatch' | 'client-id-not-owned' | 'client-id-in-use';

/** A stable key for "who": two connections with the same key are the same principal. */
export function principalKey(p: Principal): string {
  return p.role === 'gateway' ? `gateway:${p.id}` : `service:${p.username}`;
}

/**
 * A client id belongs to one principal, so nobody can take over another's session (Aedes closes
 * the older connection of a client id when a new one connects with it, and hands it its persistent
 * session). A gateway's client id is its id, nothing else. A service's is assigned by the broker
 * (empty in CONNECT) or starts with its username, and is never a gateway's id. On top of the
 * naming rule, a client id held by a live connection of another principal is refused (two
 * services whose names are prefixes of each other).
 */
export function checkClientId(
  principal: Principal,
  clientId: string,
  ctx: { assigned: boolean; isGatewayId: (id: string) => boolean; holder: Principal | undefined },
): ClientIdRefusal | undefined {
  if (principal.role === 'gateway') {
    if (clientId !== principal.id) return 'client-id-mismatch';
  } else if (!ctx.assigned && (!clientId.startsWith(principal.username) || ctx.isGatewayId(clientId))) {
    return 'client-id-not-owned';
  }
  if (ctx.holder && principalKey(ctx.holder) !== principalKey(principal)) return 'client-id-in-use';
  return undefined;
}
