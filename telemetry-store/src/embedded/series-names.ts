import type { DuckDBConnection } from '@duckdb/node-api';
import { UNGROUPED } from '../measurements';

/**
 * The day tier's integer ids' names, cached in memory (day-tier.ts): a read of 100,000 luminaires
 * gets numbers from DuckDB and takes each luminaire's three names from here, the same string
 * objects every time, instead of decoding 300,000 strings per read (~110 ms of a 300 ms savings
 * query, measured before the ids).
 *
 * Ids are only ever added (a rebuild of the tier happens at open, which resets this cache), so a
 * cache that knows every id up to n is right for any later snapshot: `cover` loads the ids above
 * what it knows when a read meets one, and what it loads is at least as new as that read.
 */
export class SeriesNames {
  private municipality: string[] = [];
  private gateway: string[] = [];
  private luminaire: string[] = [];
  private groups: string[] = [];
  /** series ids ordered by (municipality, gateway, luminaire), built when first asked */
  private sorted: Int32Array | undefined;
  /** ids loaded since `sorted` was built: merged into it when next asked (a new luminaire costs no full sort) */
  private added: number[] = [];

  /** one more than the highest series id known */
  get seriesCount(): number {
    return this.luminaire.length;
  }

  reset(): void {
    this.municipality = [];
    this.gateway = [];
    this.luminaire = [];
    this.groups = [];
    this.sorted = undefined;
    this.added = [];
  }

  /** Loads the names of every series id ≤ `maxSeries` and group id ≤ `maxGroup` not known yet. */
  async cover(conn: DuckDBConnection, maxSeries: number, maxGroup: number): Promise<void> {
    if (maxSeries >= this.luminaire.length) {
      const reader = await conn.runAndReadAll(
        'SELECT id, municipality, gateway, luminaire FROM luminaire_series WHERE id >= $known ORDER BY id',
        { known: this.luminaire.length },
      );
      // An empty result has no columns at all.
      const [id = [], mu = [], gw = [], lu = []] = reader.getColumnsJS() as unknown[][];
      for (let i = 0; i < id.length; i++) {
        const n = Number(id[i]);
        // Two reads may load the same ids at once: each id is added once.
        if (this.luminaire[n] !== undefined) continue;
        this.municipality[n] = String(mu[i]);
        this.gateway[n] = String(gw[i]);
        this.luminaire[n] = String(lu[i]);
        this.added.push(n);
      }
    }
    if (maxGroup >= this.groups.length) {
      const reader = await conn.runAndReadAll('SELECT id, name FROM luminaire_group_name WHERE id >= $known ORDER BY id', {
        known: this.groups.length,
      });
      const [id = [], name = []] = reader.getColumnsJS() as unknown[][];
      for (let i = 0; i < id.length; i++) this.groups[Number(id[i])] = String(name[i]);
    }
    if (maxSeries >= this.luminaire.length || maxGroup >= this.groups.length)
      throw new Error(`day tier: series id ${maxSeries} or group id ${maxGroup} has no name (luminaire_series / luminaire_group_name)`);
  }

  /** The names of series `id` (known: after cover). */
  municipalityOf(id: number): string {
    return this.municipality[id] as string;
  }
  gatewayOf(id: number): string {
    return this.gateway[id] as string;
  }
  luminaireOf(id: number): string {
    return this.luminaire[id] as string;
  }

  /** A group id's name; NO_GROUP (−1, hour rows without a group) reads as UNGROUPED, as the hour rows do. */
  groupOf(id: number): string {
    return id < 0 ? UNGROUPED : (this.groups[id] as string);
  }

  /** Every known series id in (municipality, gateway, luminaire) order, compared as JavaScript strings (as energyFromRollups sorts). */
  order(): Int32Array {
    if (this.sorted && this.added.length === 0) return this.sorted;
    const [mu, gw, lu] = [this.municipality, this.gateway, this.luminaire];
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const before = (a: number, b: number) => cmp(mu[a]!, mu[b]!) || cmp(gw[a]!, gw[b]!) || cmp(lu[a]!, lu[b]!);
    const added = this.added.sort(before);
    this.added = [];
    const old = this.sorted ?? new Int32Array(0);
    // Merge the sorted old ids with the sorted new ones.
    const merged = new Int32Array(old.length + added.length);
    let [i, j, k] = [0, 0, 0];
    while (i < old.length && j < added.length) merged[k++] = before(old[i]!, added[j]!) <= 0 ? old[i++]! : added[j++]!;
    while (i < old.length) merged[k++] = old[i++]!;
    while (j < added.length) merged[k++] = added[j++]!;
    this.sorted = merged;
    return merged;
  }
}
