import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** the port clients connect to (on 127.0.0.1) */
  readonly port: number;
  /** Cuts the link: every open connection is destroyed and new ones are refused until `restore`. */
  cut(): void;
  restore(): void;
  readonly isCut: boolean;
  /** connections accepted so far */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * A loopback TCP relay standing in for a gateway's cellular uplink: fault tests cut it (every
 * socket reset, new connections refused) and restore it, without touching either end's process.
 */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let isCut = false;
  let connections = 0;
  const server: Server = createServer((client) => {
    if (isCut) {
      client.destroy();
      return;
    }
    connections++;
    const upstream = connect(targetPort, targetHost);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    cut() {
      isCut = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    restore() {
      isCut = false;
    },
    get isCut() {
      return isCut;
    },
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
