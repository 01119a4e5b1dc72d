/**
 * The seat store at scale (`npm run bench -- --part scale`): the project's own Redis seat store
 * against the machine's Redis, without the app around it, so the figures are Redis's own.
 *
 * - Per-operation cost Redis-side (INFO commandstats: µs per EVALSHA) of a heartbeat and of an
 *   acquire + release, and Redis memory per live lease, on licenses of 10, 10^4 and 10^6 leases.
 * - The longest Redis stall, seen by a PING loop on its own connection, while a license of
 *   100,000 leases is suspended (every lease ends), rebuilt after its keys are gone (chunked
 *   load), and mass-expired then reaped as the sweeper reaps (500 ids a call), with the reap's
 *   throughput in expiries per second.
 *
 * On a Redis server of its own (started here, stopped at the end), so that nothing else on the
 * machine shows in its command statistics or its memory.
 */
import { availableParallelism, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { newId } from '../src/lib/ids.ts';
import { connectRedis } from '../src/stores/redisConnection.ts';
import type { LicenseTerms, LoadedSession, SeatStore } from '../src/stores/seats/contract.ts';
import { createRedisSeatStore } from '../src/stores/seats/redis.ts';
import { startRedisServer } from '../test/support/redisCluster.ts';
import { seatTerms } from '../test/support/seatTerms.ts';

const SIZES = [10, 10_000, 1_000_000];
const STALL_LEASES = 100_000;
/** Operations measured per size, after as many to warm up. */
const OPERATIONS = 2_000;
/** The sweeper's batch (services/seats/sweeper.ts). */
const SWEEP_BATCH = 500;

const terms = (maxSeats: number, status: LicenseTerms['status'] = 'ACTIVE') =>
  seatTerms({ status, maxSeats, leaseMs: 3_600_000, tier: 'bench' });

const leases = (n: number, expiresAtMs: number): LoadedSession[] =>
  Array.from({ length: n }, (_, i) => ({
    sessionId: `ses_bench${i.toString(36).padStart(18, '0')}`,
    fingerprint: `machine-${i}`,
    expiresAtMs,
    overage: false,
    userId: null,
    processId: null,
  }));

export interface ScaleFigures {
  sizes: { leases: number; heartbeatMicros: number; acquireReleaseMicros: number; bytesPerLease: number | null }[];
  stalls: { step: string; longestCommandMs: number; medianScriptMs: number; longestPingMs: number; tookMs: number; perSecond?: number }[];
}

/** µs per EVALSHA since the last reset, and the reset for the next reading. */
async function scriptMicros(redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats');
  const line = stats.split('\r\n').find((l) => l.startsWith('cmdstat_evalsha:'));
  await redis.config('RESETSTAT');
  return Number(/usec_per_call=([\d.]+)/.exec(line ?? '')?.[1] ?? NaN);
}

const usedMemory = async (redis: Redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);

/**
 * Runs `work` and answers the longest single command Redis ran meanwhile (its slow log, every
 * command logged: Redis's own execution time, whatever this process or the machine does), the
 * longest PING round trip of a loop beside it (what another client waited), and how long the
 * work took.
 */
async function stallsOf(redis: Redis, url: string, work: () => Promise<void>) {
  await redis.config('SET', 'slowlog-log-slower-than', '0');
  await redis.config('SET', 'slowlog-max-len', '1000000');
  await redis.slowlog('RESET');
  const pinger = new Redis(url);
  await pinger.ping();
  let running = true;
  let longestPing = 0;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      await pinger.ping();
      longestPing = Math.max(longestPing, performance.now() - started);
    }
  })();
  const started = performance.now();
  try {
    await work();
  } finally {
    running = false;
    await loop;
    pinger.disconnect();
  }
  const tookMs = performance.now() - started;
  const entries = (await redis.slowlog('GET', '-1')) as [number, number, number, string[]][];
  await redis.config('SET', 'slowlog-log-slower-than', '10000');
  const longestCommandMs = entries.reduce((longest, e) => Math.max(longest, e[2] / 1000), 0);
  // The typical script call: on a busy machine the longest one also holds the time Redis was not scheduled.
  const scripts = entries.filter((e) => /^eval/i.test(e[3][0] ?? '')).map((e) => e[2] / 1000).sort((a, b) => a - b);
  const medianScriptMs = scripts.length ? scripts[scripts.length >> 1]! : 0;
  return { longestCommandMs, medianScriptMs, longestPingMs: longestPing, tookMs };
}

async function perSize(store: SeatStore, redis: Redis, size: number) {
  const id = newId('lic');
  const before = await usedMemory(redis);
  const loaded = leases(size, Date.now() + 3_600_000);
  await store.load(id, terms(size + OPERATIONS * 2), loaded, []);
  const bytesPerLease = size >= 10_000 ? ((await usedMemory(redis)) - before) / size : null;

  const heartbeatAll = async () => {
    for (let i = 0; i < OPERATIONS; i++) await store.heartbeat(id, loaded[i % size]!.sessionId);
  };
  const acquireRelease = async () => {
    for (let i = 0; i < OPERATIONS / 2; i++) {
      const outcome = await store.acquire(id, newId('ses'), `extra-${i}`);
      if (outcome.kind !== 'granted') throw new Error(`bench acquire refused: ${JSON.stringify(outcome)}`);
      await store.release(id, outcome.sessionId, true);
    }
  };
  await heartbeatAll();
  await scriptMicros(redis);
  await heartbeatAll();
  const heartbeatMicros = await scriptMicros(redis);
  await acquireRelease();
  await scriptMicros(redis);
  await acquireRelease();
  const acquireReleaseMicros = await scriptMicros(redis);
  return { leases: size, heartbeatMicros, acquireReleaseMicros, bytesPerLease };
}

export async function scaleBench(): Promise<ScaleFigures> {
  const server = await startRedisServer();
  const redis = new Redis(server.url);
  const connection = await connectRedis(server.url);
  const store = createRedisSeatStore(connection);
  try {
    const sizes = [];
    for (const size of SIZES) sizes.push(await perSize(store, redis, size));
    await redis.flushall();

    const stalls: ScaleFigures['stalls'] = [];
    const stalled = (step: string, work: () => Promise<void>) => stallsOf(redis, server.url, work).then((figures) => ({ step, ...figures }));
    const suspended = newId('lic');
    await store.load(suspended, terms(STALL_LEASES), leases(STALL_LEASES, Date.now() + 3_600_000), []);
    stalls.push(
      await stalled(`suspend a license of ${STALL_LEASES.toLocaleString('en-US')} leases`, async () => {
        await store.configure(suspended, terms(STALL_LEASES, 'SUSPENDED'));
      }),
    );

    const open = leases(STALL_LEASES, Date.now() + 3_600_000);
    stalls.push(
      await stalled('rebuild it after Redis lost it (load in chunks)', () =>
        store.load(newId('lic'), terms(STALL_LEASES), open, open.map((s) => s.fingerprint)),
      ),
    );

    const expiring = newId('lic');
    const lapsing = leases(STALL_LEASES, Date.now() + 2_000);
    await store.load(expiring, terms(STALL_LEASES), lapsing, []);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const reaped = await stalled(`reap them all once expired, in the sweeper's batches of ${SWEEP_BATCH}`, async () => {
      for (let i = 0; i < lapsing.length; i += SWEEP_BATCH) {
        await store.reap(
          expiring,
          lapsing.slice(i, i + SWEEP_BATCH).map((s) => s.sessionId),
        );
      }
    });
    stalls.push({ ...reaped, perSecond: STALL_LEASES / (reaped.tookMs / 1000) });
    return { sizes, stalls };
  } finally {
    await store.close();
    redis.disconnect();
    await server.stop();
  }
}

export function printScale(figures: ScaleFigures): void {
  console.log('\nseat store at scale (Redis-side µs per script call, Redis memory per lease):');
  console.log("  leases      heartbeat µs  acquire/release µs  bytes/lease");
  for (const s of figures.sizes) {
    console.log(
      `  ${s.leases.toLocaleString('en-US').padStart(9)}  ${s.heartbeatMicros.toFixed(1).padStart(12)}  ` +
        `${s.acquireReleaseMicros.toFixed(1).padStart(18)}  ${s.bytesPerLease === null ? '-'.padStart(11) : s.bytesPerLease.toFixed(0).padStart(11)}`,
    );
  }
  console.log(
    `\nlongest Redis stall: the longest command in its slow log (Redis time), and the longest PING beside the work ` +
      `(load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores: a busy machine stretches the longest):`,
  );
  for (const s of figures.stalls) {
    const rate = s.perSecond === undefined ? '' : `, ${Math.round(s.perSecond).toLocaleString('en-US')} expiries/s`;
    console.log(
      `  ${s.step}: ${s.longestCommandMs.toFixed(1)} ms longest command (script calls: median ${s.medianScriptMs.toFixed(1)} ms), ` +
        `${s.longestPingMs.toFixed(1)} ms PING, ${Math.round(s.tookMs)} ms in all${rate}`,
    );
  }
}
