/**
 * Child server processes for the bench: start on a free port, wait until they answer, read
 * their peak RSS, stop them. Every child is remembered so that nothing outlives the bench,
 * whatever way it ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const root = new URL('..', import.meta.url).pathname;
const bin = (name: string) => `${root}node_modules/.bin/${name}`;

export type Runtime = 'node' | 'bun' | 'deno';

/** How to run a TypeScript entry file on each runtime; the pid spawned is the server itself. */
export function commandFor(runtime: Runtime, entry: string, nodeFlags: string[] = []): string[] {
  switch (runtime) {
    case 'node':
      // `node --import tsx` rather than the tsx CLI, which would put a wrapper process between.
      return [process.execPath, ...nodeFlags, '--import', 'tsx', entry];
    case 'bun':
      return [bin('bun'), entry];
    case 'deno':
      return [bin('deno'), 'run', '-A', entry];
  }
}

export interface Server {
  name: string;
  url: string;
  pid: number;
  /** From the spawn to the first 2xx answer of the ready path (as fine as the start's `pollMs`). */
  startedInMs: number;
  /** Resident set now (VmRSS), in MiB. */
  rssMiB(): number | undefined;
  /** Peak resident set (VmHWM) since start or the last resetPeak(), in MiB. */
  peakRssMiB(): number | undefined;
  /** Starts a new peak measurement (Linux: writing 5 to clear_refs resets VmHWM). */
  resetPeak(): void;
  /** User + system CPU time of the process (all its threads) so far, in seconds. */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Kills every child still running; safe to call more than once. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startServer(options: {
  name: string;
  command: string[];
  env: Record<string, string>;
  /** Answers 2xx once the server is ready. */
  readyPath: string;
  timeoutMs?: number;
  /** The checkout the command runs in (default: this one). */
  cwd?: string;
  /** How often the ready path is asked (default 200 ms; the start-time lanes ask far more often). */
  pollMs?: number;
  /** The variable that gets the free port (default PORT; a webhook worker serves only METRICS_PORT). */
  portVariable?: string;
}): Promise<Server> {
  const port = await freePort();
  const [file, ...args] = options.command;
  const spawnedAt = performance.now();
  const child = spawn(file!, args, {
    cwd: options.cwd ?? root,
    env: { ...process.env, ...options.env, [options.portVariable ?? 'PORT']: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      running.delete(child);
      throw new Error(`${options.name} exited during start-up (${child.exitCode ?? child.signalCode}):\n${stderr}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      running.delete(child);
      throw new Error(`${options.name} did not answer ${options.readyPath} in time:\n${stderr}`);
    }
    const ok = await fetch(url + options.readyPath).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
  }
  const startedInMs = performance.now() - spawnedAt;

  const statusMiB = (field: 'VmRSS' | 'VmHWM') => {
    try {
      const kb = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
      return kb ? Number(kb) / 1024 : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    name: options.name,
    url,
    pid: child.pid!,
    startedInMs,
    rssMiB: () => statusMiB('VmRSS'),
    peakRssMiB: () => statusMiB('VmHWM'),
    resetPeak() {
      try {
        writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
      } catch {
        // Not Linux or not allowed: the peak then counts from the process start.
      }
    },
    cpuSeconds() {
      try {
        // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name), in USER_HZ = 100 ticks.
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return (Number(fields[11]) + Number(fields[12])) / 100;
      } catch {
        return undefined;
      }
    },
    async stop() {
      if (!running.has(child)) return;
      child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(forced);
      running.delete(child);
    },
  };
}
