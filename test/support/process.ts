/** Starts a server process (any runtime) on a free port and waits until it answers /health. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

// Starts take 0.5–4 s here (Deno and Bun transpile on first start); a loaded or cold CI machine is slower.
export const START_TIMEOUT_MS = 120_000;

/** A port nothing listens on right now: the OS picks it, then it is handed to the child. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Server {
  child: ChildProcess;
  base: string;
  output: () => string;
  exited: Promise<number | null>;
  startedInMs: number;
}

export async function startServer(command: string[], env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const started = Date.now();
  const [bin, ...args] = command as [string, ...string[]];
  const child = spawn(bin, args, {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const base = `http://127.0.0.1:${port}`;
  while (Date.now() - started < START_TIMEOUT_MS) {
    if (hasExited) throw new Error(`${command.join(' ')} exited before serving:\n${output}`);
    const healthy = await fetch(`${base}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return { child, base, output: () => output, exited, startedInMs: Date.now() - started };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${command.join(' ')} did not answer /health within ${START_TIMEOUT_MS} ms:\n${output}`);
}

/** What `login` answers a server over HTTP (its __typename: SignedIn when the email and password are right). */
export async function signInOver(base: string, email: string, password: string): Promise<string> {
  const answer = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: `mutation($i: LoginInput!) { login(input: $i) { __typename } }`, variables: { i: { email, password } } }),
  }).then((r) => r.json());
  return answer.data.login.__typename;
}

/** Ends the child, politely first; resolves once it has exited. */
export async function stopServer(server: Server): Promise<number | null> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return server.exited;
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  const code = await server.exited;
  clearTimeout(timer);
  return code;
}

/** Runs a command that is expected to end by itself (a failed start); its exit code and output. */
export async function runToExit(
  command: string[],
  env: Record<string, string>,
  timeoutMs = START_TIMEOUT_MS,
): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  const [bin, ...args] = command as [string, ...string[]];
  const child = spawn(bin, args, {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output, ms: Date.now() - started };
}
