import type { Aedes } from 'aedes';
import { Counter, type Registry } from 'prom-client';

const counters = new WeakMap<Registry, Counter<'phase'>>();

/**
 * Counts the connections Aedes closes on an error of its own — a malformed packet, a packet before
 * CONNECT, a protocol violation, a refused publish — so every rejection of raw bytes is counted,
 * not only the stream guard's and the login's. `phase`: before-connect (no client id yet) or connected.
 */
export function countProtocolErrors(aedes: Aedes, registry: Registry): Counter<'phase'> {
  let c = counters.get(registry);
  if (!c) {
    c = new Counter({
      name: 'poste_broker_client_errors_total',
      help: 'connections closed by the MQTT broker on a protocol error or refusal, by phase (before-connect, connected)',
      labelNames: ['phase'],
      registers: [registry],
    });
    counters.set(registry, c);
  }
  const counter = c;
  aedes.on('connectionError', () => counter.inc({ phase: 'before-connect' }));
  aedes.on('clientError', () => counter.inc({ phase: 'connected' }));
  return counter;
}
