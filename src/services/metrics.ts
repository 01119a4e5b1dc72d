/**
 * What /metrics reports, in Prometheus' text format (prom-client, pure JavaScript, so the same on
 * Node, Bun and Deno). Three kinds of figures:
 *
 * - counted where they happen: GraphQL requests by operation and result (http/observability.ts),
 *   seat operations by outcome (from the seat-outcome seam), webhook attempts by outcome;
 * - read from Postgres and the stores at each scrape: live leases, the webhook queue, how far
 *   the sweeper is behind, whether each store answers. These describe the whole deployment, so
 *   every instance reports the same values: aggregate them with max(), not sum();
 * - the process's own (CPU, memory, event-loop delay, GC), from prom-client's defaults.
 *
 * Every label has a bounded set of values: operation names beyond the SDK's and the first
 * OTHER_OPERATIONS_MAX others fold into `other`, so a caller inventing names cannot grow the
 * series without end.
 */
import { sql } from 'drizzle-orm';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { rowsOf, type Database } from '../db/client.ts';
import type { SeatOutcomes, ServiceMetrics } from './context.ts';

/** Distinct operation names, besides the SDK's, that get a label of their own. */
export const OTHER_OPERATIONS_MAX = 100;

/** Whether each store answered its probe. */
export interface StoreHealth {
  database: boolean;
  seats: boolean;
}

export interface Metrics extends ServiceMetrics {
  /** The label an operation is counted under: its name, `anonymous`, or `other` past the cap. */
  operationLabel(name: string | null | undefined): string;
  /** One answered GraphQL request: its operation's label, its result (`ok` or an error code) and its duration. */
  request(operation: string, result: string, seconds: number): void;
  /** The exposition text, after reading the figures that are read at scrape time. */
  render(): Promise<string>;
  readonly contentType: string;
}

interface DeploymentFigures {
  live_leases: string | number;
  sweeper_lag: string | number | null;
  queue_depth: string | number;
  oldest_due: string | number | null;
}

export interface MetricsSources {
  db: Database;
  seatOutcomes: SeatOutcomes;
  /** The SDK's persisted operations' names: always their own label. */
  knownOperations: ReadonlySet<string>;
  storeHealth(): Promise<StoreHealth>;
}

export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'leasehold_graphql_requests_total',
    help: 'GraphQL requests answered, by operation name and result (ok, or the first error code).',
    labelNames: ['operation', 'result'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'leasehold_graphql_request_duration_seconds',
    help: 'Time from a GraphQL request arriving to its answer starting, by operation name and result.',
    labelNames: ['operation', 'result'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const seatOperations = new Counter({
    name: 'leasehold_seat_operations_total',
    help: 'Seat operations by operation and outcome; code is the refusal code of a refused one, "none" otherwise.',
    labelNames: ['operation', 'outcome', 'code'],
    registers: [registry],
  });
  const webhookAttempts = new Counter({
    name: 'leasehold_webhook_attempts_total',
    help: 'Webhook delivery attempts by recorded outcome.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });
  const liveLeases = gauge('leasehold_live_leases', 'Open seat sessions whose lease has not expired (whole deployment).');
  const queueDepth = gauge(
    'leasehold_webhook_queue_depth',
    'Deliveries waiting for an attempt, due or not, of enabled endpoints (whole deployment).',
  );
  const oldestDue = gauge(
    'leasehold_webhook_oldest_due_seconds',
    'How long the longest-waiting due delivery has been due; 0 when none is.',
  );
  const sweeperLag = gauge(
    'leasehold_sweeper_lag_seconds',
    'How long the oldest expired but still open session has been expired: how far the sweeper is behind.',
  );
  const storeUp = gauge('leasehold_store_up', 'Whether the store answered at this scrape (1) or not (0).', ['store']);

  // Each series' child kept by its labels: prom-client otherwise hashes the label object on every call (on every
  // request, twice). As bounded as the series themselves (see operationLabel; results and codes are ours).
  const seatSeries = new Map<string, Counter.Internal>();
  sources.seatOutcomes.listen((outcome) => {
    const code = outcome.kind === 'refused' ? outcome.code : 'none';
    const key = `${outcome.operation}\0${outcome.kind}\0${code}`;
    let series = seatSeries.get(key);
    if (!series) seatSeries.set(key, (series = seatOperations.labels(outcome.operation, outcome.kind, code)));
    series.inc();
  });
  const requestSeries = new Map<string, { count: Counter.Internal; latency: Histogram.Internal<string> }>();

  const others = new Set<string>();
  const deploymentGauges = [liveLeases, queueDepth, oldestDue, sweeperLag];

  /** Reads the deployment's figures; leaves them out of this scrape when Postgres does not answer. */
  const readDeployment = async () => {
    try {
      const [row] = rowsOf<DeploymentFigures>(
        await sources.db.execute(sql`
          select
            (select count(*) from seat_sessions where ended_at is null and expires_at > now()) as live_leases,
            (select extract(epoch from now() - min(expires_at)) from seat_sessions
              where ended_at is null and expires_at <= now()) as sweeper_lag,
            (select count(*) from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id and e.enabled
              where d.status in ('PENDING', 'FAILED', 'RETRYING')) as queue_depth,
            (select extract(epoch from now() - min(d.next_attempt_at)) from webhook_deliveries d
              join webhook_endpoints e on e.id = d.endpoint_id and e.enabled
              where d.status in ('PENDING', 'FAILED', 'RETRYING') and d.next_attempt_at <= now()) as oldest_due`),
      );
      liveLeases.set(Number(row!.live_leases));
      queueDepth.set(Number(row!.queue_depth));
      oldestDue.set(Number(row!.oldest_due ?? 0));
      sweeperLag.set(Number(row!.sweeper_lag ?? 0));
    } catch {
      // A missing series says "unknown"; a stale value would say something false. store_up says why.
      for (const g of deploymentGauges) g.reset();
    }
  };

  return {
    contentType: registry.contentType,
    operationLabel(name) {
      if (!name) return 'anonymous';
      if (sources.knownOperations.has(name) || others.has(name)) return name;
      // Only GraphQL names: what the client put in operationName is taken at its word otherwise.
      if (others.size >= OTHER_OPERATIONS_MAX || !/^[_A-Za-z][_0-9A-Za-z]{0,63}$/.test(name)) return 'other';
      others.add(name);
      return name;
    },
    request(operation, result, seconds) {
      const key = `${operation}\0${result}`;
      let series = requestSeries.get(key);
      if (!series)
        requestSeries.set(key, (series = { count: requests.labels(operation, result), latency: latency.labels(operation, result) }));
      series.count.inc();
      series.latency.observe(seconds);
    },
    webhookAttempt(status) {
      webhookAttempts.inc({ outcome: status });
    },
    async render() {
      const [health] = await Promise.all([sources.storeHealth(), readDeployment()]);
      storeUp.set({ store: 'postgres' }, health.database ? 1 : 0);
      storeUp.set({ store: 'seats' }, health.seats ? 1 : 0);
      return registry.metrics();
    },
  };
}
