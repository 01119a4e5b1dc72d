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
 * --baseline REF (also run the app of that commit, on a database of its own, with the same lanes)
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { appAcquireRelease, appHeartbeat, appRecordUsage, bareHeartbeat, yogaHeartbeat, yogaSignedHeartbeat, type Step } from './lanes.ts';
import { runLoad, type LoadResult } from './load.ts';
import { checkoutBaseline, type Checkout } from './baseline.ts';
import { profile } from './profile.ts';
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
  },
});

const runtime = args.runtime as Runtime;
if (!['node', 'bun', 'deno'].includes(runtime)) throw new Error(`--runtime must be node, bun or deno, not ${runtime}`);
if (args.profile && runtime !== 'node') throw new Error('--profile uses node --cpu-prof: it profiles the app on Node only');
const durationMs = Number(args.duration ?? (args.profile ? 5 : 10)) * 1000;
const warmupMs = Number(args.warmup) * 1000;
const rounds = Number(args.rounds);
const inFlight = Number(args['in-flight']);
const sessions = Number(args.sessions);

// Bounded in time whatever happens: start-ups, seeding and every lane, with room to spare.
const budgetMs = (args.profile ? 4 : rounds * (args.baseline ? 7 : 5)) * (warmupMs + durationMs + 2000) + 240_000;
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
  const checks: [string, boolean][] = [
    [`app heartbeat ≥ 0.90 × yoga floor (${(heartbeat.requestsPerSecond / yoga).toFixed(2)})`, heartbeat.requestsPerSecond >= 0.9 * yoga],
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

async function bench(): Promise<void> {
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
    seeds.push(seeded);
    floors.push(await startFloor('bare'), await startFloor('yoga', { runtime }));
    const lanes: Lane[] = [
      { name: 'bare floor', server: floors[0]!, step: bareHeartbeat(seeded) },
      { name: 'yoga floor', server: floors[1]!, step: yogaHeartbeat(seeded) },
      { name: SIGNED_FLOOR, server: floors[1]!, step: yogaSignedHeartbeat(seeded) },
      ...appLanes('app', app, seeded),
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
    console.log(
      '\n' +
        JSON.stringify({
          bench: 'leasehold',
          runtime,
          node: process.versions.node,
          inFlight,
          durationS: durationMs / 1000,
          rounds,
          ...(checkout ? { baseline: checkout.name } : {}),
          lanes: summaries,
        }),
    );
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

try {
  if (args.profile) await profile({ warmupMs, durationMs, inFlight, sessions });
  else await bench();
} finally {
  clearTimeout(watchdog);
  killAll();
}
