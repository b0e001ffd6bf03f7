/**
 * A Map that keeps at most `max` entries, dropping the least recently used. Everything keyed by a
 * remote address or a username goes in one of these, so a client inventing keys cannot grow it.
 */
export class BoundedMap<K, V> {
  readonly #map = new Map<K, V>();

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new Error(`BoundedMap: max must be >= 1, got ${max}`);
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value, marked as recently used. */
  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value as K);
  }

  delete(key: K): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }

  /** Entries, least recently used first (does not mark them used). */
  entries(): IterableIterator<[K, V]> {
    return this.#map.entries();
  }
}
