/**
 * `npm run bench -- --profile`: where the app's time per request goes, next to the floors.
 * Runs the heartbeat lane against the bare floor, the Yoga floor and the app (with a lease and
 * without), then the acquire+release lane against the app, each server under `node --cpu-prof`; keeps only the
 * samples of each measured window (V8's profile clock is the same monotonic clock as
 * process.hrtime) and prints main-thread µs per request grouped by package, then the functions
 * that cost the app most, and most beyond the Yoga floor.
 *
 * Built-ins without a script (JSON.parse, Promise jobs, socket writes) are charged to the
 * JavaScript function that called them, so each package's share includes the native work it
 * asks for. The .cpuprofile files are kept for Chrome DevTools; their folder is printed.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appAcquireRelease, appHeartbeat, bareHeartbeat, yogaHeartbeat, type Step } from './lanes.ts';
import { runLoad } from './load.ts';
import { root, type Server } from './servers.ts';
import { createBenchDatabase, dropBenchDatabase, removeSeatKeys, seed, startApp, startFloor, type Seed } from './setup.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const SAMPLING_US = 200;

/** Packages that make up one group; anything else under node_modules is its own group. */
const PACKAGE_GROUPS: [RegExp, string][] = [
  [/^graphql-yoga$/, 'graphql-yoga'],
  [/^@whatwg-node\//, '@whatwg-node'],
  [/^graphql$/, 'graphql'],
  [/^@envelop\//, '@envelop'],
  [/^@graphql-tools\//, '@graphql-tools'],
  [/^@pothos\//, '@pothos'],
  [/^(ioredis|@ioredis\/.*|redis-parser|redis-errors|denque|cluster-key-slot|standard-as-callback)$/, 'ioredis'],
  [/^jose$/, 'jose/crypto'],
  [/^(drizzle-orm|postgres)$/, 'postgres/drizzle'],
];

/** The group of a frame, or undefined for a built-in without a script (charged to its caller). */
function groupOf(frame: CallFrame): string | undefined {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'V8/native (program)';
  if (functionName === '(idle)') return 'idle';
  if (!url) return undefined;
  const pkg = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return PACKAGE_GROUPS.find(([pattern]) => pattern.test(pkg))?.[1] ?? pkg;
  if (url.includes(`${root}src/`)) return 'leasehold src';
  if (url.includes(`${root}bench/`)) return 'bench floor code';
  if (url.startsWith('node:internal/crypto')) return 'jose/crypto';
  if (/^node:(_http|http|net|internal\/(http|net|stream_base|streams|js_stream))/.test(url)) return 'node http/net/streams';
  if (url.startsWith('node:internal/webstreams')) return 'node web streams';
  if (url.startsWith('node:')) return 'node other (events, timers, …)';
  return 'other';
}

interface Analysis {
  requests: number;
  busyUs: number;
  idleUs: number;
  groups: Map<string, number>;
  functions: Map<string, { label: string; group: string; us: number }>;
}

function analyse(profile: CpuProfile, fromUs: number, toUs: number, requests: number): Analysis {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const chargedGroup = new Map<number, string>();
  const groupFor = (id: number): string => {
    let group = chargedGroup.get(id);
    if (group) return group;
    const own = groupOf(byId.get(id)!.callFrame);
    const up = parent.get(id);
    group = own ?? (up === undefined ? 'V8/native (program)' : groupFor(up));
    chargedGroup.set(id, group);
    return group;
  };

  const analysis: Analysis = { requests, busyUs: 0, idleUs: 0, groups: new Map(), functions: new Map() };
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i]!;
    // Each sample stands for the time until the next one.
    const spent = profile.timeDeltas[i + 1] ?? 0;
    if (at < fromUs || at > toUs) continue;
    const id = profile.samples[i]!;
    const frame = byId.get(id)!.callFrame;
    const group = groupFor(id);
    if (group === 'idle') {
      analysis.idleUs += spent;
      continue;
    }
    analysis.busyUs += spent;
    analysis.groups.set(group, (analysis.groups.get(group) ?? 0) + spent);
    const where = frame.url ? `${frame.url.replace(/^file:\/\//, '').replace(root, '')}:${frame.lineNumber + 1}` : '(native)';
    const label = `${frame.functionName || '(anonymous)'} ${where}`;
    const entry = analysis.functions.get(label) ?? { label, group, us: 0 };
    entry.us += spent;
    analysis.functions.set(label, entry);
  }
  return analysis;
}

function readProfile(dir: string): CpuProfile {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
}

/** Drives one lane; returns the load and its measured window on the profile's clock (µs). */
async function drive(server: Server, step: Step, options: ProfileOptions): Promise<{ requests: number; fromUs: number; toUs: number }> {
  const clockOffsetUs = Number(process.hrtime.bigint() / 1000n) - performance.now() * 1000;
  const load = await runLoad({
    url: server.url,
    inFlight: options.inFlight,
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    step,
  });
  if (load.errors) throw new Error(`${server.name}: ${load.errors} errors, first: ${load.firstError}`);
  return { requests: load.total.requests, fromUs: load.window.from * 1000 + clockOffsetUs, toUs: load.window.to * 1000 + clockOffsetUs };
}

/** Stops a server started with --cpu-prof (which writes its profile on exit) and analyses each window. */
async function analyseAfterStop(server: Server, dir: string, windows: { requests: number; fromUs: number; toUs: number }[]) {
  await server.stop();
  const profile = readProfile(dir);
  return windows.map((w) => analyse(profile, w.fromUs, w.toUs, w.requests));
}

export interface ProfileOptions {
  warmupMs: number;
  durationMs: number;
  inFlight: number;
  sessions: number;
}

export async function profile(options: ProfileOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-profile-'));
  const flags = (name: string) => ['--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`, `--cpu-prof-interval=${SAMPLING_US}`];
  const databaseUrl = await createBenchDatabase('app');
  const app = await startApp({ runtime: 'node', databaseUrl, nodeFlags: flags('app') });
  let seeded: Seed | undefined;
  try {
    seeded = await seed(app, options.sessions);
    const floor = async (kind: 'bare' | 'yoga', step: Step) => {
      const server = await startFloor(kind, { nodeFlags: flags(kind) });
      const [analysis] = await analyseAfterStop(server, join(dir, kind), [await drive(server, step, options)]);
      return analysis!;
    };
    const bare = await floor('bare', bareHeartbeat(seeded));
    const yoga = await floor('yoga', yogaHeartbeat(seeded));
    const heartbeatWindow = await drive(app.server, appHeartbeat(seeded), options);
    const unsignedWindow = await drive(app.server, appHeartbeat(seeded, { signed: false }), options);
    const acquireWindow = await drive(app.server, appAcquireRelease(seeded, Date.now().toString(36)), options);
    const [heartbeat, unsigned, acquire] = await analyseAfterStop(app.server, join(dir, 'app'), [
      heartbeatWindow,
      unsignedWindow,
      acquireWindow,
    ]);
    reportHeartbeat("Heartbeat lane (the app's asks for a signed lease)", bare, yoga, heartbeat!, options);
    // The same work as the Yoga floor's heartbeat: what is left between them is the app's own.
    reportHeartbeat("\nHeartbeat lane without a lease (the app's asks for none, as the floor's)", bare, yoga, unsigned!, options);
    reportAcquire(acquire!);
    console.log(`\nprofiles (Chrome DevTools): ${dir}/{bare,yoga,app}/*.cpuprofile`);
  } finally {
    await app.server.stop();
    app.cleanup();
    if (seeded) await removeSeatKeys(seeded.licenseId);
    await dropBenchDatabase('app');
  }
}

const perRequest = (a: Analysis, us: number) => us / a.requests;
const fmt = (n: number, width = 8) => n.toFixed(1).padStart(width);

function printTop(entries: { label: string; group: string; value: number }[], title: string, count: number): void {
  console.log(`\n${title}`);
  for (const e of entries.sort((a, b) => b.value - a.value).slice(0, count))
    console.log(`${fmt(e.value)}  ${e.group.padEnd(24)} ${e.label}`);
}

function reportHeartbeat(title: string, bare: Analysis, yoga: Analysis, app: Analysis, options: ProfileOptions): void {
  console.log(
    `${title} under node --cpu-prof (every ${SAMPLING_US} µs): ${options.durationMs / 1000} s at ${options.inFlight} in flight ` +
      `after ${options.warmupMs / 1000} s warm-up.\nMain-thread µs per request by package (sampled time: includes time preempted ` +
      `inside syscalls; built-ins charged to their JS caller; profiling slows every server)\n`,
  );
  console.log(`${'group'.padEnd(32)}${'bare'.padStart(8)}${'yoga'.padStart(8)}${'app'.padStart(8)}${'app−yoga'.padStart(10)}`);
  const groups = [...new Set([...bare.groups.keys(), ...yoga.groups.keys(), ...app.groups.keys()])];
  const appShare = (group: string) => perRequest(app, app.groups.get(group) ?? 0);
  groups.sort((a, b) => appShare(b) - appShare(a));
  for (const group of groups) {
    const [b, y, a] = [bare, yoga, app].map((x) => perRequest(x, x.groups.get(group) ?? 0)) as [number, number, number];
    if (Math.max(b, y, a) >= 0.5) console.log(`${group.padEnd(32)}${fmt(b)}${fmt(y)}${fmt(a)}${fmt(a - y, 10)}`);
  }
  const total = (x: Analysis) => perRequest(x, x.busyUs);
  console.log(`${'total busy'.padEnd(32)}${fmt(total(bare))}${fmt(total(yoga))}${fmt(total(app))}${fmt(total(app) - total(yoga), 10)}`);
  const rate = (x: Analysis) => Math.round(x.requests / (options.durationMs / 1000)).toString();
  console.log(`${'req/s while profiled'.padEnd(32)}${rate(bare).padStart(8)}${rate(yoga).padStart(8)}${rate(app).padStart(8)}`);
  const idle = (x: Analysis) => `${Math.round((100 * x.idleUs) / (x.idleUs + x.busyUs))}%`;
  console.log(`${'main thread idle'.padEnd(32)}${idle(bare).padStart(8)}${idle(yoga).padStart(8)}${idle(app).padStart(8)}`);

  printTop(
    [...app.functions.values()].map((f) => ({ label: f.label, group: f.group, value: perRequest(app, f.us) })),
    'app heartbeat: top self time, µs per request',
    25,
  );
  printTop(
    [...app.functions.values()].map((f) => ({
      label: f.label,
      group: f.group,
      value: perRequest(app, f.us) - perRequest(yoga, yoga.functions.get(f.label)?.us ?? 0),
    })),
    'app heartbeat beyond the yoga floor: self µs per request, app − yoga, same function',
    25,
  );
}

function reportAcquire(app: Analysis): void {
  console.log(`\nAcquire+release lane, same app process: main-thread µs per HTTP request by package`);
  for (const [group, us] of [...app.groups].sort((a, b) => b[1] - a[1])) {
    if (perRequest(app, us) >= 0.5) console.log(`${group.padEnd(32)}${fmt(perRequest(app, us))}`);
  }
  console.log(`${'total busy'.padEnd(32)}${fmt(perRequest(app, app.busyUs))}`);
  printTop(
    [...app.functions.values()].map((f) => ({ label: f.label, group: f.group, value: perRequest(app, f.us) })),
    'app acquire+release: top self time, µs per request',
    20,
  );
}
