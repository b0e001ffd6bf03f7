import { readFileSync } from 'node:fs';

/** Why a new connection was refused at accept. */
export type AdmissionRefusal = 'max-connections' | 'max-per-address' | 'max-unauthenticated';

export interface ConnectionLimitsConfig {
  /** connections in total (TCP + TLS) */
  maxConnections: number;
  /**
   * connections from one remote address that have not authenticated yet. Once authenticated a
   * connection answers for its credential (one connection per client id) and no longer counts:
   * hundreds of gateways behind one NAT or load balancer share an address legitimately.
   */
  maxPerAddress: number;
  /** connections accepted but not yet authenticated, in total */
  maxUnauthenticated: number;
}

/**
 * The soft limit on open files of this process. Node 20 has no process.getrlimit, so on Linux it
 * is read from /proc/self/limits; undefined elsewhere (the caller then uses its configured value).
 */
export function fileDescriptorSoftLimit(limitsText?: string): number | undefined {
  const getrlimit = (process as unknown as { getrlimit?: (r: string) => { soft: number } }).getrlimit;
  if (limitsText === undefined && typeof getrlimit === 'function') {
    const soft = getrlimit('nofile').soft;
    return Number.isFinite(soft) ? soft : undefined;
  }
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m || m[1] === 'unlimited') return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * The total connection cap: the configured one, but never closer than `reserve` descriptors to the
 * process's open-file limit — ingest's sockets to the store, spool and journal files, the
 * dashboard and the log need theirs (an EMFILE there loses data; a refused MQTT connect retries).
 * The reserve is the larger of `reserve` and a fifth of the limit.
 */
export function connectionCapUnderFdLimit(configured: number, fdSoftLimit: number | undefined, reserve: number): number {
  if (fdSoftLimit === undefined) return configured;
  const headroom = fdSoftLimit - Math.max(reserve, Math.ceil(fdSoftLimit / 5));
  return Math.max(1, Math.min(configured, headroom));
}

/**
 * Counts live connections in total, unauthenticated in total and unauthenticated per address;
 * refuses at accept past a cap. What one address can hold without credentials is bounded, what it
 * holds with credentials is not (only the total is).
 */
export class ConnectionLimits {
  readonly #perAddress = new Map<string, number>();
  #total = 0;
  #unauthenticated = 0;

  constructor(readonly config: ConnectionLimitsConfig) {}

  get total(): number {
    return this.#total;
  }

  get unauthenticated(): number {
    return this.#unauthenticated;
  }

  /**
   * Admits a connection from `address`, or says why not. The returned handle must be told when the
   * connection authenticates and when it closes (both idempotent).
   */
  admit(address: string): { ok: true; authenticated(): void; release(): void } | { ok: false; reason: AdmissionRefusal } {
    if (this.#total >= this.config.maxConnections) return { ok: false, reason: 'max-connections' };
    const fromAddress = this.#perAddress.get(address) ?? 0;
    if (fromAddress >= this.config.maxPerAddress) return { ok: false, reason: 'max-per-address' };
    if (this.#unauthenticated >= this.config.maxUnauthenticated) return { ok: false, reason: 'max-unauthenticated' };
    this.#total++;
    this.#unauthenticated++;
    this.#perAddress.set(address, fromAddress + 1);
    let pending = true;
    let released = false;
    return {
      ok: true,
      authenticated: () => {
        if (!pending || released) return;
        pending = false;
        this.#unauthenticated--;
        this.#leave(address);
      },
      release: () => {
        if (released) return;
        released = true;
        if (pending) {
          this.#unauthenticated--;
          this.#leave(address);
        }
        this.#total--;
      },
    };
  }

  #leave(address: string): void {
    const left = (this.#perAddress.get(address) ?? 1) - 1;
    if (left <= 0) this.#perAddress.delete(address);
    else this.#perAddress.set(address, left);
  }
}
