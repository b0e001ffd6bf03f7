/**
 * Exponential backoff with full jitter (AWS architecture blog): a random delay in
 * [0, min(max, initial * 2^attempt)]. Jitter spreads a city's gateways out after a broker restart
 * instead of having thousands reconnect in lockstep.
 */
export function backoffDelayMs(attempt: number, initialDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt, 30));
  // Never 0: keeps a tight loop impossible when the broker refuses instantly.
  return Math.max(1, Math.round(random() * ceiling));
}
