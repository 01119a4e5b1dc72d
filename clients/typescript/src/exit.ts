/**
 * Releasing a seat when its process ends, on every runtime without importing one: Node, Bun
 * and Deno expose `process` (signals and `beforeExit`), browsers and Electron renderers fire
 * `pagehide`. A hard exit (`process.exit()`, a crash, SIGKILL) runs no hook: the lease then
 * ends by itself on the server at its expiry.
 */

type Signal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
const SIGNALS: Signal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

interface ProcessLike {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  listenerCount(event: string): number;
  kill(pid: number, signal: string): unknown;
  pid: number;
  platform?: string;
}

interface WindowLike {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/** Calls `release` once when the process or page goes away; returns a function that detaches the hook. */
export function onExit(release: () => Promise<void>): () => void {
  const runtime = (globalThis as { process?: Partial<ProcessLike> }).process;
  if (typeof runtime?.on === 'function' && typeof runtime.off === 'function' && typeof runtime.kill === 'function') {
    return onProcessExit(runtime as ProcessLike, release);
  }
  const page = globalThis as unknown as Partial<WindowLike>;
  if (typeof page.addEventListener === 'function' && typeof page.removeEventListener === 'function') {
    const listener = () => void release();
    page.addEventListener('pagehide', listener);
    return () => page.removeEventListener!('pagehide', listener);
  }
  return () => {};
}

function onProcessExit(runtime: ProcessLike, release: () => Promise<void>): () => void {
  // SIGHUP cannot be listened for on Windows.
  const signals = runtime.platform === 'win32' ? SIGNALS.filter((signal) => signal !== 'SIGHUP') : SIGNALS;
  const listeners = new Map<Signal, () => void>();
  const detach = () => {
    for (const [signal, listener] of listeners) runtime.off(signal, listener);
    runtime.off('beforeExit', onBeforeExit);
  };
  // The event loop ran dry with the seat still held: release it, and the process ends after that.
  const onBeforeExit = () => {
    detach();
    void release();
  };
  for (const signal of signals) {
    const listener = () => {
      detach();
      void release().finally(() => {
        // Listening for a signal replaces its default action (ending the process). When no one
        // else listens, end the process as the signal would have, with its usual exit status.
        if (runtime.listenerCount(signal) === 0) runtime.kill(runtime.pid, signal);
      });
    };
    listeners.set(signal, listener);
    runtime.on(signal, listener);
  }
  runtime.on('beforeExit', onBeforeExit);
  return detach;
}
