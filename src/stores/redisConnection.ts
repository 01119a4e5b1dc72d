/**
 * The ioredis connection (single node or Cluster) with every Lua script of lua/ registered
 * once through defineCommand, so each call is one EVALSHA round trip.
 */
import { readFileSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import { unreachable } from '../config/config.ts';

/** How many keys a license's seat state has (lua/lib/seat_keys.lua). */
const SEAT_KEYS = 19;

/** The scripts of lua/, one per atomic operation, and how many KEYS each declares. */
export const SCRIPTS = {
  acquire: SEAT_KEYS,
  heartbeat: SEAT_KEYS,
  release: SEAT_KEYS,
  count: SEAT_KEYS,
  reap: SEAT_KEYS,
  load: SEAT_KEYS,
  configure: SEAT_KEYS,
  ticket: SEAT_KEYS,
  activate: SEAT_KEYS,
  deactivate: SEAT_KEYS,
  rate_limit: 1,
  record_usage: 7,
  load_meters: 6,
  configure_meters: 1,
} as const;
export type ScriptName = keyof typeof SCRIPTS;

const luaDir = new URL('../../lua/', import.meta.url);

const INCLUDE = /^--@include (\w+)$/gm;

/**
 * A script's source with its `--@include <lib>` lines replaced by lua/lib/<lib>.lua: Redis
 * scripts cannot call one another, so shared Lua functions are pasted in where they are used.
 * Read once at start; node:fs exists on Node, Bun and Deno alike.
 */
export function readScript(name: ScriptName): string {
  const source = readFileSync(new URL(`${name}.lua`, luaDir), 'utf8');
  return source.replace(INCLUDE, (_line, lib: string) => readFileSync(new URL(`lib/${lib}.lua`, luaDir), 'utf8').trimEnd());
}

export type RedisConnection = Redis | Cluster;

export async function connectRedis(url: string, options: { cluster?: boolean } = {}): Promise<RedisConnection> {
  // Fail fast while Redis is away, so a request answers SERVICE_UNAVAILABLE instead of hanging.
  // Connecting, each command and the wait between reconnects are bounded well under a second
  // each, so an outage answers within about one and a healed Redis is used again at once.
  const common = {
    maxRetriesPerRequest: 1,
    commandTimeout: 1000,
    connectTimeout: 1000,
    retryStrategy: (times: number) => Math.min(times * 20, 200),
    enableAutoPipelining: false,
  } as const;
  const connection = options.cluster
    ? new Cluster(
        url.split(',').map((u) => {
          const parsed = new URL(u.trim());
          return { host: parsed.hostname, port: Number(parsed.port || 6379) };
        }),
        // A Cluster queues commands while it reconnects, with no time limit: with every master
        // down, calls would hang. Without the queue they fail at once; hence waiting for `ready`.
        { redisOptions: common, scaleReads: 'master', enableOfflineQueue: false },
      )
    : new Redis(url, common);
  // Errors surface on the commands that hit them; the connection keeps reconnecting. The last
  // one says why a start failed better than the command's "max retries" does.
  let lastError: unknown;
  connection.on('error', (error) => (lastError = error));
  for (const [name, numberOfKeys] of Object.entries(SCRIPTS)) {
    connection.defineCommand(name, { numberOfKeys, lua: readScript(name as ScriptName) });
  }
  // A server that does not answer at start is named now, not found out by the first request.
  try {
    if (connection instanceof Cluster) await readyWithin(connection, CLUSTER_READY_MS);
    await connection.ping();
  } catch (error) {
    connection.disconnect();
    throw unreachable('REDIS_URL', options.cluster ? 'the Redis Cluster' : 'Redis', url, lastError ?? error);
  }
  return connection;
}

/** How long a Cluster may take at start to learn its slots from the nodes. */
const CLUSTER_READY_MS = 10_000;

function readyWithin(cluster: Cluster, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no cluster node ready within ${ms} ms`)), ms);
    cluster.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export type Reply = (string | number | Reply)[];

/** Runs a registered script; keys first, then arguments, as the script's header lists them. */
export function runScript(redis: RedisConnection, name: ScriptName, keys: string[], args: (string | number)[]): Promise<Reply> {
  const command = (redis as unknown as Record<ScriptName, (...a: (string | number)[]) => Promise<Reply>>)[name];
  return command.call(redis, ...keys, ...args);
}
