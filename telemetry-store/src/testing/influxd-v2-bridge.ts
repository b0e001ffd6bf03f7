import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface RunningV2Bridge {
  /** base URL to give the influxdb2 backend, e.g. http://127.0.0.1:40124 */
  url: string;
  /** requests to /api/v2/write forwarded so far (a test can check the writes really went through here) */
  writes(): number;
  stop(): Promise<void>;
}

/** Largest request body forwarded; the contract suite's biggest batch is well under 2 MB. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * InfluxDB 1.8+ accepts 2.x writes itself (`POST /api/v2/write`, bucket = "db/rp", Token header);
 * Debian's 1.6 does not. This loopback bridge adds exactly that translation in front of a real
 * influxd 1.6 — `/api/v2/write?bucket=B&precision=P` becomes `/write?db=B&precision=P` (`rp=` from
 * "db/rp"), body and status passed through — and forwards every other request (the v1 `/query` the
 * influxdb2 backend reads with) unchanged. Storage, overwrite and query semantics stay influxd's own;
 * it does not make influxd a 2.x server (no auth, no orgs, no Flux).
 */
export async function startV2WriteBridge(influxdUrl: string): Promise<RunningV2Bridge> {
  let writes = 0;
  const server: Server = createServer((req, res) => {
    forward(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      const cause = (err as Error).cause instanceof Error ? `: ${((err as Error).cause as Error).message}` : '';
      res.end(JSON.stringify({ code: 'bad gateway', message: `${(err as Error).message}${cause}` }));
    });
  });

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const incoming = new URL(req.url ?? '/', 'http://bridge');
    let target: URL;
    if (incoming.pathname === '/api/v2/write') {
      writes++;
      const [db, rp] = (incoming.searchParams.get('bucket') ?? '').split('/');
      if (!db) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'invalid', message: 'bucket is required' }));
        return;
      }
      target = new URL('/write', influxdUrl);
      target.searchParams.set('db', db);
      if (rp) target.searchParams.set('rp', rp);
      target.searchParams.set('precision', incoming.searchParams.get('precision') ?? 'ns');
    } else {
      target = new URL(`${incoming.pathname}${incoming.search}`, influxdUrl);
    }
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'content-encoding', 'authorization'] as const) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const upstream = await fetch(target, { method: req.method ?? 'GET', headers, body: body.length > 0 ? body : undefined });
    const text = await upstream.text();
    const out: Record<string, string> = {};
    const upstreamType = upstream.headers.get('content-type');
    if (upstreamType) out['content-type'] = upstreamType;
    res.writeHead(upstream.status, out).end(upstream.status === 204 ? undefined : text);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('v2 bridge: no address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    writes: () => writes,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy(new Error(`request body over ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
