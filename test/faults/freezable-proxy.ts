import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface FreezableProxy {
  /** `host:port` to put in a connection URL instead of the target's. */
  address: string;
  /** The target stops answering: connections stay open, nothing is forwarded either way. */
  freeze(): void;
  /** Everything held back flows again, in order. */
  thaw(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of a database that can go silent without refusing anything: the way a
 * hung server (or a stalled network path) looks to a client, unlike a stopped one.
 */
export async function startFreezableProxy(targetPort: number): Promise<FreezableProxy> {
  let frozen = false;
  const pairs = new Set<[Socket, Socket | undefined]>();
  const waiting: Array<() => void> = [];

  const connect = (client: Socket, pair: [Socket, Socket | undefined]) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    pair[1] = upstream;
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
  };

  const server: Server = createServer((client) => {
    const pair: [Socket, Socket | undefined] = [client, undefined];
    pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => {
      pair[1]?.destroy();
      pairs.delete(pair);
    });
    if (frozen) {
      client.pause();
      waiting.push(() => {
        if (!client.destroyed) connect(client, pair);
      });
    } else {
      connect(client, pair);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    address: `127.0.0.1:${port}`,
    freeze() {
      frozen = true;
      for (const [client, upstream] of pairs) {
        client.unpipe();
        upstream?.unpipe();
        client.pause();
        upstream?.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const [client, upstream] of pairs) {
        if (!upstream) continue;
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        upstream.resume();
      }
      for (const start of waiting.splice(0)) start();
    },
    async close() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
