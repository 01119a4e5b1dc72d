/**
 * A loopback TCP proxy that a test can cut or black-hole, to make a real server unreachable
 * mid-test: a cut refuses connections (a stopped server), a black hole accepts them and lets
 * nothing through in either direction (a partition, a dead host), and heals with what was sent
 * meanwhile still delivered, as TCP does once the network is back. For Postgres it can also
 * reset the next new connection at its first statement, after the handshake has succeeded: a
 * backend that dies as the connection starts its work.
 */
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

interface Link {
  client: Socket;
  upstream: Socket | undefined;
}

export async function tcpProxy(targetPort: number, targetHost = '127.0.0.1') {
  const sockets = new Set<Socket>();
  const links = new Set<Link>();
  let open = true;
  let holding = false;
  let resetAtFirstStatement: (() => void) | undefined;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  };
  const join = (link: Link) => {
    if (!link.upstream) {
      link.upstream = connect(targetPort, targetHost);
      track(link.upstream);
    }
    if (resetAtFirstStatement) {
      const done = resetAtFirstStatement;
      resetAtFirstStatement = undefined;
      // The client's first message is the startup packet; the next one it sends is its first statement.
      let messages = 0;
      link.client.on('data', (chunk) => {
        if (++messages === 1) return void link.upstream!.write(chunk);
        link.client.resetAndDestroy();
        link.upstream!.destroy();
        done();
      });
      link.upstream.pipe(link.client);
      link.client.resume();
      link.upstream.resume();
      return;
    }
    link.client.pipe(link.upstream).pipe(link.client);
    link.client.resume();
    link.upstream.resume();
  };
  const server = createServer((client) => {
    track(client);
    const link: Link = { client, upstream: undefined };
    links.add(link);
    client.on('close', () => links.delete(link));
    if (holding) client.pause();
    else join(link);
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
    /** Accepts connections but passes nothing either way until `restore()`; nothing is closed. */
    blackhole() {
      holding = true;
      for (const { client, upstream } of links) {
        client.unpipe();
        upstream?.unpipe();
        client.pause();
        upstream?.pause();
      }
    },
    /**
     * The next connection made completes its handshake and is reset (ECONNRESET) as it sends its
     * first statement; resolves once that has happened.
     */
    resetNextAtFirstStatement(): Promise<void> {
      return new Promise((resolve) => (resetAtFirstStatement = resolve));
    },
    async restore() {
      if (holding) {
        holding = false;
        for (const link of links) join(link);
      }
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
