/**
 * The load generator: a fixed number of requests in flight (each worker sends its next request
 * when its last one answered, over its own keep-alive connection) for a fixed time after a
 * warm-up. Latencies are kept per tag so that one lane can report several kinds of request.
 *
 * HTTP/1.1 is spoken over node:net directly. node:http's client costs the generator about three
 * times the CPU of wrk per request; on a 2-core machine that it shares with the server and Redis
 * the bench then measures the client (7k req/s against the bare floor where wrk drives 22k).
 * This client writes a request in one string and parses only the status, Content-Length and
 * chunked framing, which keeps it close to wrk.
 */
import { connect, type Socket } from 'node:net';

interface Reply {
  status: number;
  body: string;
}

export interface Client {
  /**
   * POSTs a JSON body and resolves to the reply's body when the status is 200 and the body holds
   * `marker` (the success shape); anything else throws. Only successes have their latency
   * recorded under `tag`, and only inside the measured window.
   */
  post(tag: string, path: string, body: string, marker: string): Promise<string>;
}

export interface TagStats {
  requests: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export interface LoadResult {
  /** All successful requests of the window, every tag together. */
  total: TagStats;
  tags: Record<string, TagStats>;
  errors: number;
  firstError: string | undefined;
  /** The measured window, in performance.now() milliseconds. */
  window: { from: number; to: number };
  /** CPU time the server spent in the window per request of the window, when `cpuSeconds` was given. */
  cpuMicrosPerRequest: number | undefined;
}

export interface LoadOptions {
  url: string;
  inFlight: number;
  warmupMs: number;
  durationMs: number;
  /** One unit of work of one worker (one or more requests); an error thrown counts and goes on. */
  step: (client: Client, worker: number) => Promise<void>;
  /** The server's CPU time so far (user + system), read at the start and the end of the window. */
  cpuSeconds?: () => number | undefined;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/** Frames one response at the start of `data`: its status, body and length, or undefined if incomplete. */
function parseResponse(data: Buffer): { status: number; body: Buffer; length: number } | undefined {
  const headerEnd = data.indexOf(HEADER_END);
  if (headerEnd < 0) return undefined;
  const head = data.toString('latin1', 0, headerEnd).toLowerCase();
  const status = Number(head.slice(9, 12));
  const bodyStart = headerEnd + 4;
  const lengthMatch = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (lengthMatch) {
    const end = bodyStart + Number(lengthMatch[1]);
    return data.length < end ? undefined : { status, body: data.subarray(bodyStart, end), length: end };
  }
  if (!/\r\ntransfer-encoding:\s*chunked/.test(head)) throw new Error('response has neither Content-Length nor chunked framing');
  const parts: Buffer[] = [];
  let at = bodyStart;
  for (;;) {
    const lineEnd = data.indexOf(CRLF, at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(data.toString('latin1', at, lineEnd), 16);
    const chunkEnd = lineEnd + 2 + size;
    if (data.length < chunkEnd + 2) return undefined;
    if (size === 0) return { status, body: Buffer.concat(parts), length: chunkEnd + 2 };
    parts.push(data.subarray(lineEnd + 2, chunkEnd));
    at = chunkEnd + 2;
  }
}

/** One keep-alive connection carrying one request at a time. */
class Connection {
  private socket: Socket | undefined;
  private received: Buffer | undefined;
  private waiting: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly head: string,
  ) {}

  send(path: string, body: string): Promise<Reply> {
    const socket = this.socket ?? this.open();
    return new Promise<Reply>((resolve, reject) => {
      this.waiting = { resolve, reject };
      socket.write(`POST ${path} HTTP/1.1\r\n${this.head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  close(): void {
    this.socket?.destroy();
  }

  private open(): Socket {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    this.socket = socket;
    this.received = undefined;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (error: Error) => {
      if (this.socket === socket) this.socket = undefined;
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
    return socket;
  }

  private onData(chunk: Buffer): void {
    this.received = this.received ? Buffer.concat([this.received, chunk]) : chunk;
    let response;
    try {
      response = parseResponse(this.received);
    } catch (error) {
      this.socket?.destroy(error as Error);
      return;
    }
    if (!response) return;
    this.received = response.length < this.received.length ? this.received.subarray(response.length) : undefined;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve({ status: response.status, body: response.body.toString() });
  }
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function stats(latencies: number[], seconds: number): TagStats {
  const sorted = Float64Array.from(latencies).sort();
  return { requests: sorted.length, perSecond: sorted.length / seconds, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99) };
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const target = new URL(options.url);
  const head = `host: ${target.host}\r\ncontent-type: application/json\r\n`;
  const latencies = new Map<string, number[]>();
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const measureTo = measureFrom + options.durationMs;
  let errors = 0;
  let firstError: string | undefined;
  let cpuFrom: number | undefined;
  let cpuTo: number | undefined;
  const windowStart = setTimeout(() => (cpuFrom = options.cpuSeconds?.()), options.warmupMs);

  const worker = async (index: number) => {
    const connection = new Connection(target.hostname, Number(target.port), head);
    const client: Client = {
      async post(tag, path, body, marker) {
        const sent = performance.now();
        const reply = await connection.send(path, body);
        const done = performance.now();
        if (reply.status !== 200 || !reply.body.includes(marker)) throw new Error(`HTTP ${reply.status}: ${reply.body.slice(0, 300)}`);
        if (sent >= measureFrom && done <= measureTo) {
          let list = latencies.get(tag);
          if (!list) latencies.set(tag, (list = []));
          list.push(done - sent);
        }
        return reply.body;
      },
    };
    while (performance.now() < measureTo) {
      try {
        await options.step(client, index);
      } catch (error) {
        errors++;
        firstError ??= String(error);
        // A failing server must not turn the bench into a busy loop.
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    // The first worker past the window's end closes the CPU reading.
    cpuTo ??= options.cpuSeconds?.();
    connection.close();
  };
  await Promise.all(Array.from({ length: options.inFlight }, (_, i) => worker(i)));
  clearTimeout(windowStart);

  const seconds = options.durationMs / 1000;
  const tags: Record<string, TagStats> = {};
  for (const [tag, list] of latencies) tags[tag] = stats(list, seconds);
  const total = stats([...latencies.values()].flat(), seconds);
  return {
    total,
    tags,
    errors,
    firstError,
    window: { from: measureFrom, to: measureTo },
    cpuMicrosPerRequest: cpuFrom !== undefined && cpuTo !== undefined ? ((cpuTo - cpuFrom) * 1e6) / total.requests : undefined,
  };
}
