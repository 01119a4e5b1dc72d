/**
 * `npm run bench`: the app's seat path against its performance floors, on real Postgres and
 * Redis. Starts the app (on --runtime node|bun|deno) and two floors that call the same heartbeat
 * Lua script: a bare node:http server (always on Node) and a minimal Yoga + Pothos server (on the
 * app's runtime, served as the app is; a second lane of it also signs a lease as the app does),
 * and the app's recordUsage beside its heartbeat.
 * Seeds a license, drives each lane at a fixed number of requests in flight, and prints a table
 * plus one JSON line. `--profile` instead profiles the app's lanes (profile.ts).
 *
 * Options: --duration S (10; 5 with --profile)  --warmup S (2)  --rounds N (1; lanes shuffled per round, medians
 * reported)  --runtime node|bun|deno (node)  --in-flight N (50)  --sessions N (200)  --profile
 * --baseline REF (also run the app of that commit, on a database of its own, with the same lanes; of the operator's lanes, the webhook and start ones)
 * --part seat|operations|webhooks|starts|scale|all (all: the seat path's lanes, the operator's of operations.ts, then the seat store at scale of scale.ts;
 * webhooks: only the webhook lanes of operations.ts, throughput and isolation, without the start lanes; starts: only the start lanes,
 * which with --baseline also run on the baseline's built server, each lane beside its baseline's)
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { appAcquireRelease, appHeartbeat, appRecordUsage, bareHeartbeat, yogaHeartbeat, yogaSignedHeartbeat, type Step } from './lanes.ts';
import { runLoad, type LoadResult } from './load.ts';
import { checkoutBaseline, type Checkout } from './baseline.ts';
import {
  buildServer,
  startLanes,
  webhookIsolation,
  webhookThroughput,
  type IsolationFigures,
  type StartFigures,
  type WebhookFigures,
} from './operations.ts';
import { profile } from './profile.ts';
import { queuePush } from './queuePush.ts';
import { printScale, scaleBench } from './scale.ts';
import { killAll, type Runtime, type Server } from './servers.ts';
import { createBenchDatabase, dropBenchDatabase, removeSeatKeys, seed, startApp, startFloor, type AppHandle, type Seed } from './setup.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '1' },
    runtime: { type: 'string', default: 'node' },
    'in-flight': { type: 'string', default: '50' },
    sessions: { type: 'string', default: '200' },
    profile: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    part: { type: 'string', default: 'all' },
  },
});
const part = args.part as 'seat' | 'operations' | 'webhooks' | 'starts' | 'scale' | 'all';
if (!['seat', 'operations', 'webhooks', 'starts', 'scale', 'all'].includes(part))
  throw new Error(`--part must be seat, operations, webhooks, starts, scale or all, not ${part}`);

const runtime = args.runtime as Runtime;
if (!['node', 'bun', 'deno'].includes(runtime)) throw new Error(`--runtime must be node, bun or deno, not ${runtime}`);
if (args.profile && runtime !== 'node') throw new Error('--profile uses node --cpu-prof: it profiles the app on Node only');
const durationMs = Number(args.duration ?? (args.profile ? 5 : 10)) * 1000;
const warmupMs = Number(args.warmup) * 1000;
const rounds = Number(args.rounds);
const inFlight = Number(args['in-flight']);
const sessions = Number(args.sessions);

// Bounded in time whatever happens: start-ups, seeding and every lane, with room to spare.
const budgetMs =
  (args.profile ? 4 : rounds * (args.baseline ? 7 : 5)) * (warmupMs + durationMs + 2000) +
  240_000 +
  (part === 'seat' ? 0 : 900_000) +
  (part === 'seat' || part === 'operations' || part === 'webhooks' || part === 'starts' ? 0 : 300_000);
const watchdog = setTimeout(() => {
  console.error(`bench: over its time budget (${Math.round(budgetMs / 1000)} s), stopping`);
  killAll();
  process.exit(2);
}, budgetMs);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.once('exit', killAll);

/** The Yoga floor's lane that also signs a lease: what the app's heartbeat costs before its own work. */
const SIGNED_FLOOR = 'yoga floor + signing';
/** The same floor and heartbeat with the app's query limits, input limits, CORS and security headers on. */
const HARDENED_FLOOR = 'yoga floor + hardening';
/** The app's lanes on a license with every seat policy on (overage, linger, queue, borrowing, deactivation bound). */
const WITH_POLICIES = ', policies on';
/** The app's heartbeat that asks for no lease (the SDK's usual one): its floor is the unsigned Yoga floor. */
const UNSIGNED_APP = 'app heartbeat, no lease';

interface Lane {
  name: string;
  server: Server;
  step: Step;
}

interface LaneSummary {
  lane: string;
  runtime: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  peakRssMiB: number | undefined;
  /** The server process's CPU time (all threads) per request. */
  cpuMicrosPerRequest: number | undefined;
  errors: number;
  /** Per kind of request, for lanes with more than one. */
  parts?: Record<string, { perSecond: number; p50Ms: number; p99Ms: number }>;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function summarise(lane: Lane, runtimeName: string, results: LoadResult[], peaks: (number | undefined)[]): LaneSummary {
  const tags = Object.keys(results[0]!.tags);
  const known = peaks.filter((p): p is number => p !== undefined);
  return {
    lane: lane.name,
    runtime: runtimeName,
    requestsPerSecond: median(results.map((r) => r.total.perSecond)),
    p50Ms: median(results.map((r) => r.total.p50Ms)),
    p99Ms: median(results.map((r) => r.total.p99Ms)),
    peakRssMiB: known.length ? Math.max(...known) : undefined,
    cpuMicrosPerRequest: results.every((r) => r.cpuMicrosPerRequest !== undefined)
      ? median(results.map((r) => r.cpuMicrosPerRequest!))
      : undefined,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    ...(tags.length > 1
      ? {
          parts: Object.fromEntries(
            tags.map((tag) => [
              tag,
              {
                perSecond: median(results.map((r) => r.tags[tag]?.perSecond ?? 0)),
                p50Ms: median(results.map((r) => r.tags[tag]?.p50Ms ?? NaN)),
                p99Ms: median(results.map((r) => r.tags[tag]?.p99Ms ?? NaN)),
              },
            ]),
          ),
        }
      : {}),
  };
}

function printTable(summaries: LaneSummary[]): void {
  const bare = summaries.find((s) => s.lane === 'bare floor')!.requestsPerSecond;
  const yoga = summaries.find((s) => s.lane === 'yoga floor')!.requestsPerSecond;
  const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
  const header = ['lane', 'runtime', 'req/s', 'p50 ms', 'p99 ms', 'peak RSS MiB', 'CPU µs/req', '× bare', '× yoga', 'errors'];
  const rows: string[][] = [];
  for (const s of summaries) {
    rows.push([
      s.lane,
      s.runtime,
      Math.round(s.requestsPerSecond).toLocaleString('en-US'),
      fixed(s.p50Ms, 2),
      fixed(s.p99Ms, 2),
      s.peakRssMiB === undefined ? '-' : fixed(s.peakRssMiB, 0),
      s.cpuMicrosPerRequest === undefined ? '-' : fixed(s.cpuMicrosPerRequest, 0),
      fixed(s.requestsPerSecond / bare, 2),
      fixed(s.requestsPerSecond / yoga, 2),
      String(s.errors),
    ]);
    for (const [tag, part] of Object.entries(s.parts ?? {})) {
      const row = [`  ${tag}`, '', Math.round(part.perSecond).toLocaleString('en-US'), fixed(part.p50Ms, 2), fixed(part.p99Ms, 2)];
      rows.push([...row, ...Array<string>(header.length - row.length).fill('')]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

/** The targets of the seat path, checked against this run. */
function printTargets(summaries: LaneSummary[]): void {
  const get = (lane: string) => summaries.find((s) => s.lane === lane)!;
  const bare = get('bare floor').requestsPerSecond;
  const yoga = get('yoga floor').requestsPerSecond;
  const heartbeat = get('app heartbeat');
  const acquire = get('app acquire+release').parts?.acquire;
  const unsigned = get(UNSIGNED_APP);
  const checks: [string, boolean][] = [
    [`app heartbeat ≥ 0.90 × yoga floor (${(heartbeat.requestsPerSecond / yoga).toFixed(2)})`, heartbeat.requestsPerSecond >= 0.9 * yoga],
    [
      `app heartbeat without a lease ≥ 0.90 × yoga floor (${(unsigned.requestsPerSecond / yoga).toFixed(2)})`,
      unsigned.requestsPerSecond >= 0.9 * yoga,
    ],
  ];
  if (runtime === 'node') {
    checks.push([
      `app heartbeat ≥ 0.40 × bare on Node (${(heartbeat.requestsPerSecond / bare).toFixed(2)})`,
      heartbeat.requestsPerSecond >= 0.4 * bare,
    ]);
    checks.push([`app heartbeat p99 ≤ 7 ms on Node (${heartbeat.p99Ms.toFixed(2)})`, heartbeat.p99Ms <= 7]);
  }
  if (runtime === 'bun') {
    checks.push([
      `app heartbeat ≥ 0.50 × bare on Bun (${(heartbeat.requestsPerSecond / bare).toFixed(2)})`,
      heartbeat.requestsPerSecond >= 0.5 * bare,
    ]);
  }
  if (acquire) checks.push([`acquire p99 ≤ 15 ms (${acquire.p99Ms.toFixed(2)})`, acquire.p99Ms <= 15]);
  console.log('\ntargets:');
  for (const [label, met] of checks) console.log(`  ${met ? 'met   ' : 'MISSED'}  ${label}`);
  const signed = get(SIGNED_FLOOR);
  console.log(
    `  (app heartbeat = ${(heartbeat.requestsPerSecond / signed.requestsPerSecond).toFixed(2)} × the yoga floor that also signs ` +
      `its lease, which runs at ${(signed.requestsPerSecond / yoga).toFixed(2)} × the yoga floor)`,
  );
  const hardened = get(HARDENED_FLOOR).cpuMicrosPerRequest;
  const plain = get('yoga floor').cpuMicrosPerRequest;
  if (hardened !== undefined && plain !== undefined && heartbeat.cpuMicrosPerRequest !== undefined) {
    const extra = hardened - plain;
    const share = extra / heartbeat.cpuMicrosPerRequest;
    const [met, label] = [
      share <= 0.05,
      `query limits + security headers ≤ 5 % of the app heartbeat's CPU (${extra >= 0 ? '+' : ''}${extra.toFixed(1)} µs/req: ` +
        `${(share * 100).toFixed(1)} % of the app heartbeat's ${Math.round(heartbeat.cpuMicrosPerRequest)} µs, ` +
        `${((extra / plain) * 100).toFixed(1)} % of the yoga floor's ${Math.round(plain)} µs)`,
    ];
    console.log(`  ${met ? 'met   ' : 'MISSED'}  ${label}`);
  }
  for (const kind of ['heartbeat', 'acquire+release']) {
    const off = get(`app ${kind}`);
    const on = get(`app ${kind}${WITH_POLICIES}`);
    const cpu =
      on.cpuMicrosPerRequest !== undefined && off.cpuMicrosPerRequest !== undefined
        ? `, CPU ${Math.round(on.cpuMicrosPerRequest)} vs ${Math.round(off.cpuMicrosPerRequest)} µs/req`
        : '';
    console.log(
      `  (seat policies on: ${kind} at ${(on.requestsPerSecond / off.requestsPerSecond).toFixed(2)} × its req/s with them off${cpu})`,
    );
  }
  const failing = summaries.filter((s) => s.errors > 0);
  if (failing.length) console.log(`  not comparable: errors in ${failing.map((s) => s.lane).join(', ')} (only successes are counted)`);
}

/** The app's lanes, for this checkout's app or the baseline's. */
function appLanes(who: string, app: AppHandle, seeded: Seed): Lane[] {
  return [
    { name: `${who} heartbeat`, server: app.server, step: appHeartbeat(seeded) },
    { name: `${who} acquire+release`, server: app.server, step: appAcquireRelease(seeded, Date.now().toString(36)) },
  ];
}

/** This checkout's app against the baseline's, lane by lane. */
function printBaseline(summaries: LaneSummary[], checkout: Checkout): void {
  console.log(`
against ${checkout.name}:`);
  for (const kind of ['heartbeat', 'acquire+release']) {
    const now = summaries.find((s) => s.lane === `app ${kind}`)!;
    const then = summaries.find((s) => s.lane === `baseline ${kind}`)!;
    const cpu =
      now.cpuMicrosPerRequest !== undefined && then.cpuMicrosPerRequest !== undefined
        ? `, CPU ${Math.round(now.cpuMicrosPerRequest)} vs ${Math.round(then.cpuMicrosPerRequest)} µs/req`
        : '';
    console.log(`  ${kind}: ${(now.requestsPerSecond / then.requestsPerSecond).toFixed(2)} × the baseline's req/s${cpu}`);
  }
}

/** The seat path's lanes; answers the Yoga floor's peak RSS, the yardstick of the app's memory. */
async function bench(): Promise<number | undefined> {
  // Everything shares the machine's cores: other work running now skews every lane.
  const [loadBefore] = loadavg();
  const checkout = args.baseline ? checkoutBaseline(args.baseline) : undefined;
  let app: AppHandle | undefined;
  let baseline: AppHandle | undefined;
  const floors: Server[] = [];
  const seeds: Seed[] = [];
  try {
    app = await startApp({ runtime, databaseUrl: await createBenchDatabase('app') });
    const seeded = await seed(app, sessions, { meter: true });
    const withPolicies = await seed(app, sessions, { policies: true });
    seeds.push(seeded, withPolicies);
    floors.push(await startFloor('bare'), await startFloor('yoga', { runtime }), await startFloor('yoga', { runtime, hardening: true }));
    const lanes: Lane[] = [
      { name: 'bare floor', server: floors[0]!, step: bareHeartbeat(seeded) },
      { name: 'yoga floor', server: floors[1]!, step: yogaHeartbeat(seeded) },
      { name: HARDENED_FLOOR, server: floors[2]!, step: yogaHeartbeat(seeded) },
      { name: SIGNED_FLOOR, server: floors[1]!, step: yogaSignedHeartbeat(seeded) },
      ...appLanes('app', app, seeded),
      { name: `app heartbeat${WITH_POLICIES}`, server: app.server, step: appHeartbeat(withPolicies) },
      {
        name: `app acquire+release${WITH_POLICIES}`,
        server: app.server,
        step: appAcquireRelease(withPolicies, `p${Date.now().toString(36)}`),
      },
      { name: UNSIGNED_APP, server: app.server, step: appHeartbeat(seeded, { signed: false }) },
      { name: 'app recordUsage', server: app.server, step: appRecordUsage(seeded, Date.now().toString(36)) },
    ];
    if (checkout) {
      baseline = await startApp({ runtime, databaseUrl: await createBenchDatabase('baseline'), checkout });
      const seededBaseline = await seed(baseline, sessions);
      seeds.push(seededBaseline);
      lanes.push(...appLanes('baseline', baseline, seededBaseline));
    }
    const results = new Map<Lane, { loads: LoadResult[]; peaks: (number | undefined)[] }>(lanes.map((l) => [l, { loads: [], peaks: [] }]));
    console.log(
      `leasehold bench: app and Yoga floor on ${runtime}, bare floor on node ${process.versions.node}; ${inFlight} in flight, ` +
        `${warmupMs / 1000} s warm-up + ${durationMs / 1000} s per lane, ${rounds} round(s), ${sessions} sessions; ` +
        `${availableParallelism()} cores, load average ${loadBefore!.toFixed(2)} before start` +
        (loadBefore! > 0.5 ? ' (busy: numbers unreliable)' : '') +
        '\n',
    );
    for (let round = 0; round < rounds; round++) {
      for (const lane of rounds > 1 ? shuffle(lanes) : lanes) {
        lane.server.resetPeak();
        const load = await runLoad({
          url: lane.server.url,
          inFlight,
          warmupMs,
          durationMs,
          step: lane.step,
          cpuSeconds: () => lane.server.cpuSeconds(),
        });
        const entry = results.get(lane)!;
        entry.loads.push(load);
        entry.peaks.push(lane.server.peakRssMiB());
        if (load.errors) console.error(`${lane.name}: ${load.errors} errors, first: ${load.firstError}`);
      }
    }
    const summaries = lanes.map((lane) =>
      summarise(lane, lane.server === floors[0] ? 'node' : runtime, results.get(lane)!.loads, results.get(lane)!.peaks),
    );
    printTable(summaries);
    printTargets(summaries);
    if (checkout) printBaseline(summaries, checkout);
    const push = await queuePush(app);
    console.log(
      `  ${push.p99Ms <= 100 ? 'met   ' : 'MISSED'}  a queued client hears READY ≤ 100 ms after the release (p99 ${push.p99Ms.toFixed(1)} ms, ` +
        `p50 ${push.p50Ms.toFixed(1)}, longest ${push.maxMs.toFixed(1)}, over ${push.rounds} hand-overs by subscription)`,
    );
    console.log(
      '\n' +
        JSON.stringify({
          bench: 'leasehold',
          queuePush: push,
          runtime,
          node: process.versions.node,
          inFlight,
          durationS: durationMs / 1000,
          rounds,
          ...(checkout ? { baseline: checkout.name } : {}),
          lanes: summaries,
        }),
    );
    return summaries.find((s) => s.lane === 'yoga floor')?.peakRssMiB;
  } finally {
    await Promise.all([app?.server.stop(), baseline?.server.stop(), ...floors.map((f) => f.stop())]);
    app?.cleanup();
    baseline?.cleanup();
    for (const s of seeds) await removeSeatKeys(s.licenseId);
    await dropBenchDatabase('app');
    if (checkout) {
      await dropBenchDatabase('baseline');
      checkout.remove();
    }
  }
}

interface WebhookLanes {
  throughput: WebhookFigures[];
  isolation: IsolationFigures[];
}

/** The webhook lanes on the built server of one checkout (this one, or the baseline's), on a database of its own. */
async function webhookLanes(app: string, dir?: string): Promise<WebhookLanes> {
  const databaseUrl = await createBenchDatabase(app);
  try {
    const throughput: WebhookFigures[] = [];
    for (const workers of [1, 2]) throughput.push(await webhookThroughput(databaseUrl, workers, 3000, dir));
    return { throughput, isolation: await webhookIsolation(databaseUrl, 40, 5, dir) };
  } finally {
    await dropBenchDatabase(app);
  }
}

function printWebhooks(title: string, { throughput, isolation }: WebhookLanes): void {
  console.log(`${title}:`);
  for (const t of throughput)
    console.log(`  ${t.workers} worker(s): ${t.deliveries} deliveries at ${Math.round(t.perSecond).toLocaleString('en-US')}/s`);
  for (const i of isolation)
    console.log(`  ${i.lane}: ${i.deliveries} deliveries, p50 ${i.p50Ms} ms, p99 ${i.p99Ms} ms (event written → received)`);
}

function printStarts(title: string, starts: StartFigures[]): void {
  const mib = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(0));
  console.log(`${title}:`);
  for (const s of starts) {
    console.log(
      `  ${s.lane.padEnd(22)} start ${Math.round(s.startMs).toString().padStart(5)} ms   idle ${mib(s.idleRssMiB).padStart(4)} MiB   ` +
        `loaded peak ${mib(s.loadedPeakRssMiB).padStart(4)} MiB   (${Math.round(s.heartbeatsPerSecond).toLocaleString('en-US')} heartbeats/s)`,
    );
  }
}

/**
 * Start-up, memory and webhook delivery of the built server, with the goals of issue 13; only
 * the webhook lanes, or only the start lanes, with `lanes`. With --baseline both also run on the
 * baseline's built server.
 */
async function operations(yogaFloorPeakMiB: number | undefined, lanes: 'all' | 'webhooks' | 'starts'): Promise<void> {
  const [loadBefore] = loadavg();
  buildServer();
  const checkout = args.baseline ? checkoutBaseline(args.baseline) : undefined;
  const databaseUrl = await createBenchDatabase('operations');
  const baselineDatabaseUrl = checkout ? await createBenchDatabase('baseline_operations') : undefined;
  try {
    if (checkout) buildServer(checkout.dir);
    const throughput: WebhookFigures[] = [];
    const isolation: IsolationFigures[] = [];
    let baseline: WebhookLanes | undefined;
    if (lanes !== 'starts') {
      // Webhooks first: their app's start migrates the database, so the start lane below is a restart.
      for (const workers of [1, 2]) throughput.push(await webhookThroughput(databaseUrl, workers, 3000));
      isolation.push(...(await webhookIsolation(databaseUrl, 40, 5)));
      baseline = checkout ? await webhookLanes('baseline_webhooks', checkout.dir) : undefined;
    }
    const shape = { inFlight, warmupMs, durationMs: Math.min(durationMs, 5000), sessions };
    const starts: StartFigures[] = lanes === 'webhooks' ? [] : await startLanes(databaseUrl, shape, lanes === 'starts');
    const baselineStarts: StartFigures[] =
      lanes === 'webhooks' || !checkout ? [] : await startLanes(baselineDatabaseUrl!, shape, true, checkout.dir);
    const mib = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(0));
    const [loadAfter] = loadavg();
    console.log(`\nload average ${loadBefore!.toFixed(2)} before, ${loadAfter!.toFixed(2)} after, ${availableParallelism()} cores`);
    if (starts.length > 0) printStarts('built server (node dist/), start to first answer, RSS idle and under the heartbeat lane', starts);
    if (baselineStarts.length > 0) printStarts(`the same, ${checkout!.name}`, baselineStarts);
    if (throughput.length > 0) printWebhooks('webhooks to a local receiver that answers at once', { throughput, isolation });
    if (baseline && checkout) printWebhooks(`the same, ${checkout.name}`, baseline);

    const checks: [string, boolean][] = [];
    if (starts.length > 0) {
      const embedded = starts.filter((s) => s.lane.startsWith('embedded'));
      const first = starts.find((s) => s.lane === 'embedded, first start')!;
      const restart = starts.find((s) => s.lane === 'embedded, restart')!;
      const stores = starts.find((s) => s.lane === 'Postgres + Redis')!;
      const highest = (key: 'idleRssMiB' | 'loadedPeakRssMiB') => Math.max(...embedded.map((s) => s[key] ?? Infinity));
      checks.push(
        [`start ≤ 1.5 s, embedded first start (${(first.startMs / 1000).toFixed(2)} s)`, first.startMs <= 1500],
        [`start ≤ 1.5 s, embedded restart (${(restart.startMs / 1000).toFixed(2)} s)`, restart.startMs <= 1500],
        [`start ≤ 1.5 s, Postgres + Redis (${(stores.startMs / 1000).toFixed(2)} s)`, stores.startMs <= 1500],
        [`embedded RSS ≤ 250 MB idle (${mib(highest('idleRssMiB'))} MiB)`, highest('idleRssMiB') * 1.048576 <= 250],
        [`embedded RSS ≤ 250 MB under load (${mib(highest('loadedPeakRssMiB'))} MiB)`, highest('loadedPeakRssMiB') * 1.048576 <= 250],
      );
      if (yogaFloorPeakMiB !== undefined) {
        checks.push([
          `loaded RSS ≤ 1.5 × the Yoga floor's (${mib(stores.loadedPeakRssMiB)} vs ${mib(yogaFloorPeakMiB)} MiB)`,
          (stores.loadedPeakRssMiB ?? Infinity) <= 1.5 * yogaFloorPeakMiB,
        ]);
      }
    }
    if (throughput.length > 0) {
      const two = throughput.find((t) => t.workers === 2)!;
      const [alone, besideHanging] = isolation as [IsolationFigures, IsolationFigures];
      checks.push(
        [`≥ 1,000 deliveries/s with two workers (${Math.round(two.perSecond)})`, two.perSecond >= 1000],
        [
          `healthy p99 unchanged by a hanging endpoint (${besideHanging.p99Ms} ms vs ${alone.p99Ms} ms alone; within 25 % or 50 ms)`,
          besideHanging.p99Ms <= Math.max(alone.p99Ms * 1.25, alone.p99Ms + 50),
        ],
      );
    }
    console.log('targets:');
    for (const [label, met] of checks) console.log(`  ${met ? 'met   ' : 'MISSED'}  ${label}`);
    console.log(
      '\n' +
        JSON.stringify({
          bench: 'leasehold operations',
          node: process.versions.node,
          load: [loadBefore, loadAfter],
          starts,
          throughput,
          isolation,
          ...(checkout ? { baseline: { name: checkout.name, starts: baselineStarts, ...baseline } } : {}),
        }),
    );
  } finally {
    await dropBenchDatabase('operations');
    if (checkout) await dropBenchDatabase('baseline_operations');
    checkout?.remove();
  }
}

/** The seat store alone at 10 to 10^6 leases, and Redis's longest stall beside its biggest steps. */
async function scale(): Promise<void> {
  const figures = await scaleBench();
  printScale(figures);
  const longest = Math.max(...figures.stalls.map((s) => s.longestCommandMs));
  const reap = figures.stalls.at(-1)!.perSecond!;
  console.log('\ntargets:');
  console.log(`  ${longest <= 10 ? 'met   ' : 'MISSED'}  no Redis command over 10 ms at 100,000 leases (${longest.toFixed(1)} ms)`);
  console.log(
    `  ${reap >= 10_000 ? 'met   ' : 'MISSED'}  expiries reaped ≥ 10,000/s by one instance, Redis side (${Math.round(reap).toLocaleString('en-US')})`,
  );
  console.log('\n' + JSON.stringify({ bench: 'leasehold seat store at scale', ...figures }));
}

try {
  if (args.profile) await profile({ warmupMs, durationMs, inFlight, sessions });
  else if (part === 'scale') await scale();
  else {
    const yogaFloorPeakMiB = part === 'operations' || part === 'webhooks' || part === 'starts' ? undefined : await bench();
    if (part !== 'seat') await operations(yogaFloorPeakMiB, part === 'webhooks' || part === 'starts' ? part : 'all');
    if (part === 'all') await scale();
  }
} finally {
  clearTimeout(watchdog);
  killAll();
}
