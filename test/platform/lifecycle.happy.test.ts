/**
 * Stopping well: SIGTERM to `npm start` stops the server itself (no orphan), a request whose
 * body is still arriving is answered, new connections are refused, WebSockets close with 1001,
 * and the process exits 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { START_TIMEOUT_MS, startServer, type Server } from '../support/process.ts';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function start(command: string[], env: Record<string, string> = {}): Promise<Server> {
  const dir = await mkdtemp(join(tmpdir(), 'leasehold-stop-'));
  dirs.push(dir);
  return startServer(command, { DATABASE_URL, REDIS_URL, LEASEHOLD_ADMIN_TOKEN: 'lifecycle-admin-token-0123456789', DATA_DIR: dir, ...env });
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

describe('stopping the server', () => {
  it(
    'SIGTERM to `npm start` stops the server itself: nothing keeps listening after npm exits',
    async () => {
      // As a new user runs it: the embedded default (production mode with Postgres wants shared secrets set).
      const server = await start(['npm', 'start'], { DATABASE_URL: '', REDIS_URL: '' });
      const port = Number(new URL(server.base).port);
      expect(await accepts(port)).toBe(true);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(await accepts(port)).toBe(false);
    },
    START_TIMEOUT_MS + 30_000,
  );

  it(
    'answers a request whose body is still arriving at SIGTERM, refuses new connections meanwhile, then exits 0',
    async () => {
      const server = await start(['node', 'dist/runtime/node.js'], { SHUTDOWN_GRACE_MS: '20000' });
      const port = Number(new URL(server.base).port);
      const body = JSON.stringify({ query: '{ __typename }' });
      const socket = connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk));
      const ended = new Promise((resolve) => socket.once('close', resolve));
      socket.write(
        `POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
      );
      // Written to the socket: the server has the request's head and part of its body.
      await new Promise((resolve) => setTimeout(resolve, 300));
      server.child.kill('SIGTERM');
      // The listener closes at once; the request in flight keeps its connection.
      for (let i = 0; i < 100 && (await accepts(port)); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await accepts(port)).toBe(false);
      socket.write(body.slice(5));
      await ended;
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      expect(answer).toContain('{"data":{"__typename":"Query"}}');
      expect(await server.exited).toBe(0);
    },
    START_TIMEOUT_MS + 30_000,
  );

  it(
    'closes graphql-ws connections with 1001 (going away), so clients reconnect elsewhere',
    async () => {
      const server = await start(['node', 'dist/runtime/node.js']);
      const socket = new WebSocket(`${server.base.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
      await new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));
      socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      await new Promise((resolve) => socket.once('message', resolve));
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      server.child.kill('SIGTERM');
      expect(await closed).toBe(1001);
      expect(await server.exited).toBe(0);
    },
    START_TIMEOUT_MS + 30_000,
  );

  it(
    'cuts what is still open when SHUTDOWN_GRACE_MS is over, and still exits 0',
    async () => {
      const server = await start(['node', 'dist/runtime/node.js'], { SHUTDOWN_GRACE_MS: '500' });
      const port = Number(new URL(server.base).port);
      const socket = connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.on('error', () => {});
      const closed = new Promise((resolve) => socket.once('close', resolve));
      // A body that never finishes arriving.
      socket.write('POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"qu');
      await new Promise((resolve) => setTimeout(resolve, 300));
      server.child.kill('SIGTERM');
      await closed;
      expect(await server.exited).toBe(0);
    },
    START_TIMEOUT_MS + 30_000,
  );
});
