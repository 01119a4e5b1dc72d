/**
 * Runs one scenario script of test/scenarios/ under Node, Bun or Deno and reads what it reports:
 * one JSON object per line on stdout. A test waits for reports, acts on the server between
 * them (stops it, starts it), and asserts on what the SDK saw.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../..', import.meta.url));
const bin = (name: string) => `${REPO}node_modules/.bin/${name}`;

/** Deno runs with network and environment access only: the core needs no file system or subprocess. */
export const runtimes: [runtime: string, command: string[]][] = [
  ['Node', [bin('tsx')]],
  ['Bun', [bin('bun')]],
  ['Deno', [bin('deno'), 'run', '--allow-net', '--allow-env']],
];

export interface Report {
  type: string;
  [key: string]: any;
}

export interface ScriptRun {
  reports: Report[];
  /** The next report of this type not yet returned by `next`, waiting for it if needed. */
  next(type: string, timeoutMs?: number): Promise<Report>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  signal(signal: NodeJS.Signals): void;
  /** Closes the script's stdin: the signal a script waits for to go on. */
  endInput(): void;
  output(): string;
}

/** Runs test/scenarios/<scenario>.ts. */
export const runScenario = (command: string[], scenario: string, env: Record<string, string>) =>
  runScript(command, [fileURLToPath(new URL(`../scenarios/${scenario}.ts`, import.meta.url))], env);

/** Runs `command` with `args` (a script and its arguments) from the repository's root. */
export function runScript(command: string[], args: string[], env: Record<string, string>): ScriptRun {
  const [program, ...options] = command as [string, ...string[]];
  const script = args.join(' ');
  const child = spawn(program, [...options, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const reports: Report[] = [];
  const taken = new Set<Report>();
  let output = '';
  let buffered = '';
  let wake: () => void = () => {};
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk;
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) reports.push(JSON.parse(line) as Report);
    wake();
  });
  child.stderr!.on('data', (chunk) => (output += chunk));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true;
      wake();
      resolve({ code, signal });
    }),
  );
  return {
    reports,
    async next(type, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const report = reports.find((r) => r.type === type && !taken.has(r));
        if (report) {
          taken.add(report);
          return report;
        }
        if (done) throw new Error(`${script} exited without reporting "${type}":\n${output}`);
        if (Date.now() > deadline) throw new Error(`${script} did not report "${type}" within ${timeoutMs} ms:\n${output}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
    },
    exited,
    signal: (signal) => child.kill(signal),
    endInput: () => child.stdin!.end(),
    output: () => output,
  };
}
