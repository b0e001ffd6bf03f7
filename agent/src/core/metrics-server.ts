// GET /metrics on the agent: Prometheus text exposition (format 0.0.4), written by hand. The agent
// runs on gateways with 64 MB of RAM; prom-client brings a registry, default collectors and their
// timers for a few dozen numbers that `stats()` already holds, and the text format is a handful
// of lines per metric. So the agent renders its own, from one stats snapshot per scrape.
import type { Logger } from 'pino';
import type { AgentStats } from './agent';
import { listenPlainHttp } from './metrics-http';

type Labels = Record<string, string>;
interface Sample {
  labels?: Labels;
  value: number;
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function family(out: string[], name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const s of samples) {
    const labels = s.labels ? Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`) : [];
    out.push(`${name}${labels.length ? `{${labels.join(',')}}` : ''} ${Number.isFinite(s.value) ? s.value : 0}`);
  }
}

/**
 * Records sent per second from the backlog, over the last ~15 s: sampled on a timer rather than
 * per scrape, so two scrapers (or none) do not change what it says.
 */
export class RateMeter {
  readonly #samples: Array<{ at: number; value: number }> = [];
  readonly #read: () => number;
  readonly #timer: NodeJS.Timeout;

  constructor(read: () => number, everyMs = 5_000, keep = 4) {
    this.#read = read;
    this.#sample(keep);
    this.#timer = setInterval(() => this.#sample(keep), everyMs);
    this.#timer.unref();
  }

  #sample(keep: number): void {
    this.#samples.push({ at: Date.now(), value: this.#read() });
    if (this.#samples.length > keep) this.#samples.shift();
  }

  perSecond(): number {
    const first = this.#samples[0];
    const now = { at: Date.now(), value: this.#read() };
    if (first === undefined || now.at - first.at < 1) return 0;
    return ((now.value - first.value) * 1_000) / (now.at - first.at);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

export function renderMetrics(s: AgentStats, replayRate: number): string {
  const out: string[] = [];
  const u = s.uplink;
  const spools = ['telemetry', 'priority'] as const;
  family(
    out,
    'poste_agent_spool_depth_records',
    'gauge',
    'records spooled and not yet acknowledged by the cloud broker',
    spools.map((n) => ({ labels: { spool: n }, value: u.spools[n].depth })),
  );
  family(
    out,
    'poste_agent_spool_bytes',
    'gauge',
    'bytes the spool takes',
    spools.map((n) => ({ labels: { spool: n }, value: u.spools[n].bytes })),
  );
  family(
    out,
    'poste_agent_spool_capacity_bytes',
    'gauge',
    'cap of the spool',
    spools.map((n) => ({ labels: { spool: n }, value: u.spools[n].maxBytes })),
  );
  family(
    out,
    'poste_agent_spool_oldest_unsent_age_seconds',
    'gauge',
    'age of the oldest record not yet acknowledged upstream (0 when empty)',
    spools.map((n) => ({ labels: { spool: n }, value: (u.spools[n].oldestUnsentAgeMs ?? 0) / 1_000 })),
  );
  family(
    out,
    'poste_agent_spool_appended_records_total',
    'counter',
    'records appended since start',
    spools.map((n) => ({ labels: { spool: n }, value: u.spools[n].appended })),
  );
  family(out, 'poste_agent_spool_durable', 'gauge', '1 when the spools are on disk, 0 when in memory (no dataDir)', [
    { value: u.durable ? 1 : 0 },
  ]);
  family(
    out,
    'poste_agent_dropped_records_total',
    'counter',
    'device data not kept, by overflow policy: telemetry dropped oldest-first, events/acks refused (device not acknowledged)',
    [
      { labels: { spool: 'telemetry', policy: 'drop-oldest' }, value: u.dropped.records },
      { labels: { spool: 'priority', policy: 'refuse' }, value: u.refused },
    ],
  );
  family(
    out,
    'poste_agent_drop_reports_total',
    'counter',
    'telemetry drops reported upstream as a telemetryDropped event, or not (priority spool full)',
    [
      { labels: { outcome: 'reported' }, value: u.dropped.reported },
      { labels: { outcome: 'unreported' }, value: u.dropped.unreported },
    ],
  );
  family(
    out,
    'poste_agent_replayed_records_total',
    'counter',
    'records sent that were spooled before the current connection (backlog and resends)',
    [{ value: u.replayedRecords }],
  );
  family(out, 'poste_agent_replay_rate_records_per_second', 'gauge', 'replayed records per second over the last ~15 s', [
    { value: replayRate },
  ]);
  family(out, 'poste_agent_uplink_in_flight_batches', 'gauge', 'batches published and awaiting the PUBACK', [{ value: u.inFlight }]);
  family(out, 'poste_agent_uplink_max_in_flight_batches', 'gauge', 'the in-flight window', [{ value: u.maxInFlight }]);
  family(out, 'poste_agent_published_batches_total', 'counter', 'batches (and single acks) published northbound, resends included', [
    { labels: { kind: 'luminaire' }, value: u.batches.luminaire },
    { labels: { kind: 'ap' }, value: u.batches.ap },
    { labels: { kind: 'events' }, value: u.batches.events },
    { labels: { kind: 'acks' }, value: u.batches.acks },
  ]);
  family(out, 'poste_agent_north_connected', 'gauge', '1 while the uplink is up and subscribed', [{ value: s.north.connected ? 1 : 0 }]);
  family(out, 'poste_agent_north_reconnects_total', 'counter', 'uplink connections after the first', [{ value: s.north.reconnects }]);
  family(out, 'poste_agent_north_connect_failures_total', 'counter', 'uplink connection attempts that failed', [
    { value: s.north.connectFailures },
  ]);
  family(
    out,
    'poste_agent_rejected_total',
    'counter',
    'invalid input refused, by source',
    Object.entries(s.rejected)
      .filter(([k]) => k !== 'total')
      .map(([source, value]) => ({ labels: { source }, value })),
  );
  // Adapters report what their LAN endpoint refused as `refused.<reason>` transport counters (poste: lan-policy.ts).
  family(
    out,
    'poste_agent_lan_refused_total',
    'counter',
    'what a LAN endpoint refused (connections, logins, publishes, subscriptions), by adapter and reason',
    Object.entries(s.adapters).flatMap(([adapter, a]) =>
      Object.entries(a.transport)
        .filter((e): e is [string, number] => e[0].startsWith('refused.') && typeof e[1] === 'number')
        .map(([key, value]) => ({ labels: { adapter, reason: key.slice('refused.'.length) }, value })),
    ),
  );
  family(out, 'poste_agent_devices', 'gauge', 'devices in the registry', [{ value: s.inbox.devices }]);
  // A process started with --expose-gc (a memory test, or an operator diagnosing a gateway)
  // collects before it reports, so the figures show live memory rather than garbage not yet
  // collected; a normal process never has gc exposed and pays nothing.
  (globalThis as { gc?: () => void }).gc?.();
  const mem = process.memoryUsage();
  family(out, 'process_resident_memory_bytes', 'gauge', 'resident set size', [{ value: mem.rss }]);
  family(out, 'nodejs_heap_size_used_bytes', 'gauge', 'V8 heap in use', [{ value: mem.heapUsed }]);
  family(out, 'nodejs_heap_size_total_bytes', 'gauge', 'V8 heap reserved (in use and free pages)', [{ value: mem.heapTotal }]);
  family(out, 'nodejs_external_memory_bytes', 'gauge', 'memory of JS objects held outside the V8 heap (Buffers)', [
    { value: mem.external },
  ]);
  return `${out.join('\n')}\n`;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` (plain HTTP on node:net, metrics-http.ts); anything else is 404. Resolves once listening (port 0 = any free port). */
export async function startMetricsServer(host: string, port: number, render: () => string, log: Logger): Promise<MetricsServer> {
  const http = await listenPlainHttp(host, port, (method, path) => {
    if (method !== 'GET' || path !== '/metrics') return { status: 404, contentType: 'text/plain', body: 'not found: GET /metrics\n' };
    try {
      return { status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: render() };
    } catch (err) {
      log.error({ err: (err as Error).message }, 'rendering /metrics failed');
      return { status: 500, contentType: 'text/plain', body: 'metrics unavailable\n' };
    }
  });
  const addr = http.server.address();
  const bound = addr !== null && typeof addr === 'object' ? addr.port : port;
  log.info({ host, port: bound }, 'agent metrics at /metrics');
  return { port: bound, close: () => http.close() };
}
