/**
 * Throwaway Redis servers on loopback for one test file: a 3-master Redis Cluster (see NOTES.md,
 * "Redis Cluster"), or one plain server for a suite that must flush or break its Redis without
 * touching anyone else's. `redis-server` and `redis-cli` from PATH, free ports, a temporary directory.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RedisCluster {
  /** `redis://127.0.0.1:P,…`, as `connectRedis(nodes, { cluster: true })` takes it. */
  nodes: string;
  stop(): Promise<void>;
}

const MASTERS = 3;
/** The cluster bus listens on port + 10000, so both must be free and below 65536. */
const BUS_OFFSET = 10_000;
const MIN_PORT = 20_000;
const MAX_PORT = 55_535;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Random ports (not the kernel's ephemeral pick, which may exceed 55535) whose bus ports are free too. */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count; attempt++) {
    if (attempt > 1000) throw new Error('no free ports for Redis');
    const port = MIN_PORT + Math.floor(Math.random() * (MAX_PORT - MIN_PORT + 1));
    if (ports.some((p) => p === port || p === port + BUS_OFFSET || p === port - BUS_OFFSET)) continue;
    if ((await canBind(port)) && (await canBind(port + BUS_OFFSET))) ports.push(port);
  }
  return ports;
}

const cli = (port: number, ...args: string[]) => run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 30_000 });

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Redis Cluster: timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Servers started in a temporary directory of their own; `stop` shuts them down and removes it. */
async function startServers(ports: number[], extraArgs: (port: number) => string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'leasehold-redis-'));
  const started: number[] = [];

  async function stop(): Promise<void> {
    await Promise.all(started.map((port) => cli(port, 'shutdown', 'nosave').catch(() => {})));
    await rm(dir, { recursive: true, force: true });
  }

  try {
    for (const port of ports) {
      // prettier-ignore
      await run('redis-server', [
        '--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--dir', dir,
        // Not in NOTES.md: keep the daemon's pid and log files inside dir instead of /var/run and /dev/null.
        '--pidfile', join(dir, `redis-${port}.pid`), '--logfile', join(dir, `redis-${port}.log`),
        ...extraArgs(port),
      ]);
      started.push(port);
    }
    for (const port of ports) await waitFor(`127.0.0.1:${port} to answer`, async () => (await cli(port, 'ping')).stdout.trim() === 'PONG');
  } catch (error) {
    await stop();
    throw error;
  }
  return stop;
}

export interface RedisServer {
  /** `redis://127.0.0.1:P`, nobody else's. */
  url: string;
  stop(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  const [port] = await freePorts(1);
  const stop = await startServers([port!], () => []);
  return { url: `redis://127.0.0.1:${port}`, stop };
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const ports = await freePorts(MASTERS);
  const stop = await startServers(ports, (port) => ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`]);

  try {
    await cli(ports[0]!, '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes');
    for (const port of ports) {
      await waitFor(`cluster_state:ok on 127.0.0.1:${port}`, async () =>
        (await cli(port, 'cluster', 'info')).stdout.includes('cluster_state:ok'),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return { nodes: ports.map((p) => `redis://127.0.0.1:${p}`).join(','), stop };
}
