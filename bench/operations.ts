/**
 * The operator's lanes of `npm run bench`, on the built server as `npm start` and `npm run
 * worker` run it (plain node, dist/):
 *
 * - start: from the spawn to the first answered request (/health asked every 5 ms), in the
 *   embedded mode (its first start, which creates the database, and a restart) and on Postgres
 *   and Redis; each then idle for 2 s (RSS) and under the heartbeat load (peak RSS);
 * - webhooks: a burst of deliveries to a fast local receiver, drained by one and by two
 *   `npm run worker` processes (deliveries per second, first arrival to last);
 * - isolation: a healthy endpoint's delivery latency (event written → receiver) at a steady
 *   rate, alone and while another endpoint of the same worker hangs until the attempt timeout.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BENCH_LICENSE_LIMIT } from './floors/licenseLimit.ts';
import { appHeartbeat } from './lanes.ts';
import { runLoad } from './load.ts';
import { root, startServer, type Server } from './servers.ts';
import { graphql, REDIS_URL, seed, sharedSecrets, type AppHandle } from './setup.ts';

const BUILD_FIRST = 'node scripts/build.mjs --if-stale && ';

/**
 * The built server (or worker) of the checkout in `cwd`, as `npm start` (or `npm run worker`)
 * runs it once the build is fresh: the script's line after its build step, run by sh as npm runs
 * it, so the flags are the ones the script picks (by mode, too), and its `exec` makes the spawned
 * process the server itself. `node` is this bench's, as npm puts node_modules/.bin first.
 */
function BUILT(script: 'start' | 'worker', cwd: string): string[] {
  const { scripts } = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const line = scripts[script]!;
  if (!line.startsWith(BUILD_FIRST) || !line.includes('exec node '))
    throw new Error(`bench: package.json's ${script} script is not \`${BUILD_FIRST}… exec node …\``);
  return ['sh', '-c', `PATH='${dirname(process.execPath)}':"$PATH"; ${line.slice(BUILD_FIRST.length)}`];
}

export interface StartFigures {
  lane: string;
  startMs: number;
  idleRssMiB: number | undefined;
  loadedPeakRssMiB: number | undefined;
  heartbeatsPerSecond: number;
}

export interface WebhookFigures {
  workers: number;
  deliveries: number;
  perSecond: number;
}

export interface IsolationFigures {
  lane: string;
  deliveries: number;
  p50Ms: number;
  p99Ms: number;
}

interface LoadShape {
  inFlight: number;
  warmupMs: number;
  durationMs: number;
  sessions: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Builds dist/ of a checkout (this one by default) if its src/ changed since, as `npm start` does first. */
export function buildServer(dir: string = root): void {
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: dir, stdio: 'inherit' });
}

async function startBuilt(name: string, env: Record<string, string>, adminToken: string, cwd = root): Promise<AppHandle> {
  const server = await startServer({
    name,
    cwd,
    command: BUILT('start', cwd),
    env: {
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      LEASEHOLD_ADMIN_TOKEN: adminToken,
      RATE_LIMITS: JSON.stringify({ license: BENCH_LICENSE_LIMIT, operator: '100000000/min' }),
      ...env,
    },
    readyPath: '/health',
    pollMs: 5,
  });
  return { server, adminToken, cleanup: () => {} };
}

/** Start, idle RSS, and peak RSS under the heartbeat load of one mode. */
async function startLane(lane: string, env: Record<string, string>, shape: LoadShape, cwd: string): Promise<StartFigures> {
  const app = await startBuilt(lane, env, `bench-admin-${crypto.randomUUID()}`, cwd);
  try {
    await sleep(2000);
    const idleRssMiB = app.server.rssMiB();
    const seeded = await seed(app, shape.sessions);
    app.server.resetPeak();
    const load = await runLoad({
      url: app.server.url,
      inFlight: shape.inFlight,
      warmupMs: shape.warmupMs,
      durationMs: shape.durationMs,
      step: appHeartbeat(seeded),
    });
    return {
      lane,
      startMs: app.server.startedInMs,
      idleRssMiB,
      loadedPeakRssMiB: app.server.peakRssMiB(),
      heartbeatsPerSecond: load.total.perSecond,
    };
  } finally {
    await app.server.stop();
  }
}

/**
 * The start lanes of the checkout in `cwd`. The Postgres + Redis lane is a restart: on a
 * database that something migrated before, or (`migrateFirst`) that a start of its own migrates.
 */
export async function startLanes(databaseUrl: string, shape: LoadShape, migrateFirst: boolean, cwd = root): Promise<StartFigures[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'leasehold-bench-embedded-'));
  try {
    const embedded = { DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '' };
    const figures = [
      await startLane('embedded, first start', embedded, shape, cwd),
      await startLane('embedded, restart', embedded, shape, cwd),
    ];
    const stores = { DATABASE_URL: databaseUrl, REDIS_URL, ...sharedSecrets(), DATA_DIR: mkdtempSync(join(tmpdir(), 'leasehold-bench-')) };
    if (migrateFirst) await (await startBuilt('migration', stores, `bench-admin-${crypto.randomUUID()}`, cwd)).server.stop();
    figures.push(await startLane('Postgres + Redis', stores, shape, cwd));
    rmSync(stores.DATA_DIR, { recursive: true, force: true });
    return figures;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface Receiver {
  url: string;
  /** Per arrival: ms since the epoch, and the event's own timestamp (when it was written). */
  arrivals: { at: number; eventAt: number }[];
  close(): Promise<void>;
}

/** A receiver on 127.0.0.1 that answers 200 at once, or never (until the sender gives up). */
async function startReceiver(kind: 'fast' | 'hanging'): Promise<Receiver> {
  const arrivals: Receiver['arrivals'] = [];
  const server: HttpServer = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (kind === 'hanging') return;
      const at = Date.now();
      arrivals.push({ at, eventAt: Date.parse((JSON.parse(Buffer.concat(chunks).toString()) as { timestamp: string }).timestamp) });
      response.end('ok');
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    arrivals,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { __typename ... on WebhookEndpointCreated { endpoint { id } } } }`;
const PUBLISH = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { __typename ... on EventPublished { eventId } } }`;

async function publish(app: AppHandle, type: string, count: number, concurrency = 16): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const n = next++;
        const data = await graphql(app.server.url, PUBLISH, { input: { type, payload: { n } } }, app.adminToken);
        if (data.publishEvent.__typename !== 'EventPublished') throw new Error(`publishEvent: ${JSON.stringify(data)}`);
      }
    }),
  );
}

async function until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`bench: ${what} did not happen within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * The API server (delivering nothing itself) and what its workers need to share with it, built
 * from the checkout in `cwd` (this one, or a baseline's).
 */
async function webhookApp(databaseUrl: string, extra: Record<string, string>, cwd: string) {
  const adminToken = `bench-admin-${crypto.randomUUID()}`;
  const env = {
    LEASEHOLD_ADMIN_TOKEN: adminToken,
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    ...sharedSecrets(),
    DATA_DIR: mkdtempSync(join(tmpdir(), 'leasehold-bench-')),
    WEBHOOK_ALLOW_PRIVATE: '1',
    // The API publishes; only the workers started by the lane deliver.
    WEBHOOK_WORKER: 'off',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    ...extra,
  };
  const app = await startBuilt('app (webhooks)', env, adminToken, cwd);
  const workers: Server[] = [];
  return {
    app,
    async endpoint(url: string, eventType: string) {
      const data = await graphql(app.server.url, CREATE_ENDPOINT, { input: { url, eventTypes: [eventType] } }, app.adminToken);
      if (data.createWebhookEndpoint.__typename !== 'WebhookEndpointCreated')
        throw new Error(`createWebhookEndpoint: ${JSON.stringify(data)}`);
    },
    async startWorkers(count: number) {
      // Started together, as a deployment's are: one after another, the first would drain the
      // burst alone while the next starts up on the same cores (start-up has lanes of its own).
      const started = await Promise.allSettled(
        Array.from({ length: count }, (_, i) =>
          // A worker serves only METRICS_PORT: answering /metrics there means it is delivering.
          startServer({
            name: `worker ${i + 1}`,
            cwd,
            command: BUILT('worker', cwd),
            env,
            readyPath: '/metrics',
            portVariable: 'METRICS_PORT',
            pollMs: 20,
          }),
        ),
      );
      for (const s of started) if (s.status === 'fulfilled') workers.push(s.value);
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
    },
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
      await app.server.stop();
      rmSync(env.DATA_DIR, { recursive: true, force: true });
    },
  };
}

/** A backlog of `deliveries` to one fast receiver, drained by `workers` worker processes. */
export async function webhookThroughput(databaseUrl: string, workers: number, deliveries: number, cwd = root): Promise<WebhookFigures> {
  const receiver = await startReceiver('fast');
  const stack = await webhookApp(databaseUrl, {}, cwd);
  try {
    const type = `custom.burst${workers}`;
    await stack.endpoint(receiver.url, type);
    await publish(stack.app, type, deliveries);
    await stack.startWorkers(workers);
    await until(`${deliveries} deliveries`, () => receiver.arrivals.length >= deliveries, 300_000);
    const times = receiver.arrivals.map((a) => a.at);
    const spanMs = Math.max(...times) - Math.min(...times);
    return { workers, deliveries: receiver.arrivals.length, perSecond: ((receiver.arrivals.length - 1) * 1000) / Math.max(spanMs, 1) };
  } finally {
    await stack.stop();
    await receiver.close();
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/**
 * A healthy endpoint's latency at `perSecond` events for `seconds`, alone and then with a
 * hanging endpoint's backlog in the same worker (which holds its per-endpoint share of the
 * slots until each attempt times out).
 */
export async function webhookIsolation(databaseUrl: string, perSecond: number, seconds: number, cwd = root): Promise<IsolationFigures[]> {
  const healthy = await startReceiver('fast');
  const hanging = await startReceiver('hanging');
  const stack = await webhookApp(
    databaseUrl,
    {
      WEBHOOK_TIMEOUT_MS: String(seconds * 1000),
      WEBHOOK_POLL_MS: '100',
      WEBHOOK_MAX_ATTEMPTS: '1',
    },
    cwd,
  );
  try {
    await stack.endpoint(healthy.url, 'custom.healthy');
    await stack.endpoint(hanging.url, 'custom.hanging');
    await stack.startWorkers(1);
    const figures: IsolationFigures[] = [];
    for (const lane of ['healthy endpoint alone', 'healthy endpoint, another hanging'] as const) {
      if (lane !== 'healthy endpoint alone') await publish(stack.app, 'custom.hanging', 200);
      const before = healthy.arrivals.length;
      const total = perSecond * seconds;
      for (let i = 0; i < total; i++) {
        await publish(stack.app, 'custom.healthy', 1, 1);
        await sleep(1000 / perSecond);
      }
      await until('the healthy deliveries', () => healthy.arrivals.length >= before + total, 60_000);
      const latencies = healthy.arrivals
        .slice(before)
        .map((a) => a.at - a.eventAt)
        .sort((a, b) => a - b);
      figures.push({ lane, deliveries: latencies.length, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99) });
    }
    return figures;
  } finally {
    await stack.stop();
    await Promise.all([healthy.close(), hanging.close()]);
  }
}
