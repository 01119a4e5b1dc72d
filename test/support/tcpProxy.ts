/** A loopback TCP proxy that a test can cut, to make a real server unreachable mid-test. */
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export async function tcpProxy(targetPort: number, targetHost = '127.0.0.1') {
  const sockets = new Set<Socket>();
  let open = true;
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    /** Drops every connection and refuses new ones (connection refused) until `restore()`. */
    cut() {
      open = false;
      server.close();
      for (const s of sockets) s.destroy();
    },
    async restore() {
      if (open) return;
      open = true;
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    async close() {
      open = false;
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
