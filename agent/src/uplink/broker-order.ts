/**
 * The order in which a gateway tries the nodes of a broker cluster. Each gateway gets its own
 * permutation of the list, derived from its id: the city's gateways spread over the nodes at
 * start, and when one node dies its gateways move on to *different* survivors (a plain rotation
 * would send them all to the same next node).
 */
export function brokerOrder(gatewayId: string, urls: readonly string[]): string[] {
  const order = [...urls];
  const random = mulberry32(fnv1a(gatewayId));
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** The north option `url` as a list (one URL, or a cluster's nodes), duplicates removed. */
export function brokerUrls(url: string | readonly string[]): string[] {
  return [...new Set(typeof url === 'string' ? [url] : url)];
}

/** FNV-1a, 32 bits: a stable, well-spread hash of the gateway id. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A small seeded PRNG (uniform in [0, 1)). */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
