// The little HTTP the agent's /metrics needs, on `node:net`: read one request head, answer it,
// close. node:http would bring its parser, agent, client, incoming/outgoing message classes and
// their streams into the gateway's memory (≈ 0.8 MB RSS measured beside net alone) for a scraper
// that sends one GET every 15 s. HTTP/1.0 and 1.1 clients, Prometheus and fetch included, read a
// `Connection: close` response to its end; nothing here keeps a connection or reads a body.
import { createServer, type Server, type Socket } from 'node:net';

/** Longest request head (request line and headers) read; a scraper sends a few hundred bytes. */
export const MAX_HEAD_BYTES = 8 * 1024;
/** A connection that has not sent its whole request head by then is closed. */
export const HEAD_TIMEOUT_MS = 10_000;

export interface PlainResponse {
  status: 200 | 400 | 404 | 431 | 500;
  contentType: string;
  body: string;
}

/** What the server answers a request with; `path` is the target without its query. */
export type PlainHandler = (method: string, path: string) => PlainResponse;

const REASONS: Record<PlainResponse['status'], string> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
};

/** METHOD SP request-target SP HTTP/x.y (RFC 9112 §3). */
const REQUEST_LINE = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/;

function answer(socket: Socket, res: PlainResponse, withBody: boolean): void {
  const body = Buffer.from(res.body, 'utf8');
  const head =
    `HTTP/1.1 ${res.status} ${REASONS[res.status]}\r\n` +
    `Content-Type: ${res.contentType}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  socket.end(withBody ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1'));
}

const text = (status: PlainResponse['status'], body: string): PlainResponse => ({ status, contentType: 'text/plain', body });

/** The request head of `head` (up to its blank line) as method and path; null when it is not HTTP/1.x. */
export function parseRequestHead(head: string): { method: string; path: string } | null {
  const end = head.indexOf('\r\n');
  const m = REQUEST_LINE.exec(end === -1 ? head : head.slice(0, end));
  if (m === null) return null;
  const target = m[2] as string;
  const q = target.indexOf('?');
  return { method: m[1] as string, path: q === -1 ? target : target.slice(0, q) };
}

function serve(socket: Socket, handle: PlainHandler, sockets: Set<Socket>): void {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
  // A reset from the scraper is its own business; 'close' follows.
  socket.on('error', () => undefined);
  socket.setTimeout(HEAD_TIMEOUT_MS, () => socket.destroy());
  let head = '';
  const onData = (chunk: Buffer): void => {
    head += chunk.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) {
      if (head.length > MAX_HEAD_BYTES) {
        socket.off('data', onData);
        answer(socket, text(431, 'request head too large\n'), true);
      }
      return;
    }
    socket.off('data', onData);
    socket.setTimeout(0);
    const req = parseRequestHead(head.slice(0, end));
    if (req === null) {
      answer(socket, text(400, 'not an HTTP/1.x request\n'), true);
      return;
    }
    let res: PlainResponse;
    try {
      res = handle(req.method === 'HEAD' ? 'GET' : req.method, req.path);
    } catch {
      res = text(500, 'internal error\n');
    }
    answer(socket, res, req.method !== 'HEAD');
  };
  socket.on('data', onData);
}

export interface PlainHttpServer {
  readonly server: Server;
  /** stops listening and ends every open connection */
  close(): Promise<void>;
}

/** Listens on host:port (0 = any free port); resolves once listening. */
export async function listenPlainHttp(host: string, port: number, handle: PlainHandler): Promise<PlainHttpServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => serve(socket, handle, sockets));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
