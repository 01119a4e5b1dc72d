/**
 * The delivery worker: claims due deliveries, POSTs each event to its endpoint with fresh
 * signatures, and records what happened. Any number of workers (one per instance, and any
 * started with `npm run worker`) share the queue safely:
 *
 * - A claim is one short statement that locks due rows with FOR UPDATE SKIP LOCKED, so no two
 *   workers claim the same delivery, and marks them in flight by pushing next_attempt_at out by
 *   the lease (twice the attempt timeout: the send must end within one, the other covers
 *   recording it) under a fresh claim token. Nothing else is held while the POSTs run.
 * - A worker that dies mid-batch leaves its claims to lapse; when the lease is over they are
 *   due again and another worker takes them. Nothing is lost; a receiver may then see an
 *   attempt twice (at-least-once, as every webhook sender), which the stable event id lets it
 *   drop.
 * - The outcome is recorded by a conditional update that matches the claim token, so only the
 *   claim that still owns a delivery can record it: a delivery is DELIVERED exactly once, and
 *   a worker whose claim lapsed records nothing. A worker also does not start a send when its
 *   lease has less than a timeout left.
 *
 * Claims and the reads that follow them span organizations, so they run on the connecting user
 * (not inTenant); each outcome is written inside its own organization.
 */
import { and, eq, inArray, lte, notInArray, sql } from 'drizzle-orm';
import { webhookAttempts, webhookDeliveries, webhookEndpoints, webhookEvents } from '../../db/schema.ts';
import type { ServiceContext } from '../context.ts';
import { newId } from '../../lib/ids.ts';
import type { WebhookDeliveryRow, WebhookEndpointRow, WebhookEventRow } from '../../db/rows.ts';
import { publishDeliveries, type WebhookDeliveryStatus } from './deliveries.ts';
import { emitEvent, endpointData } from './events.ts';
import type { Transaction } from '../../db/tenant.ts';
import { liveSecrets } from './endpoints.ts';
import { signatureHeaders } from './secrets.ts';
import { deliveryTarget, postTo } from './transport.ts';
import { validateWebhookUrl } from './urls.ts';
import { tenantWork } from '../database.ts';

/** How much of an answer an attempt keeps. */
const RESPONSE_KEEP_BYTES = 2048;
/** Extra wait on top of the backoff, as a fraction of it: retries of one outage spread out. */
const JITTER = 0.1;

const DUE: WebhookDeliveryStatus[] = ['PENDING', 'FAILED', 'RETRYING'];

export interface Claim {
  delivery: WebhookDeliveryRow;
  token: string;
  /** When the lease ends by this process's clock (measured from before the claim, so never late). */
  leaseEndsAt: number;
}

export interface WorkerScope {
  /** Claim only this organization's deliveries (a worker dedicated to one tenant; tests use it to keep suites apart). */
  organizationId?: string | undefined;
}

export const leaseMs = (ctx: ServiceContext) => 2 * ctx.config.webhookTimeoutMs;

/** Claims up to `limit` due deliveries of enabled endpoints (but those of `busyEndpoints`), oldest due first. */
export async function claimDueDeliveries(
  ctx: ServiceContext,
  limit: number,
  scope: WorkerScope = {},
  busyEndpoints: string[] = [],
): Promise<Claim[]> {
  const token = crypto.randomUUID();
  const lease = leaseMs(ctx);
  const leaseEndsAt = ctx.clock.now() + lease;
  const due = ctx.db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .where(
      and(
        inArray(webhookDeliveries.status, DUE),
        lte(webhookDeliveries.nextAttemptAt, sql`now()`),
        eq(webhookEndpoints.enabled, true),
        scope.organizationId ? eq(webhookDeliveries.orgId, scope.organizationId) : undefined,
        busyEndpoints.length > 0 ? notInArray(webhookDeliveries.endpointId, busyEndpoints) : undefined,
      ),
    )
    .orderBy(webhookDeliveries.nextAttemptAt)
    .limit(limit)
    .for('update', { of: webhookDeliveries, skipLocked: true });
  // One statement, so its own short transaction: the row locks last only as long as it runs.
  const rows = await ctx.db
    .update(webhookDeliveries)
    .set({
      claimToken: token,
      nextAttemptAt: sql`now() + make_interval(secs => ${lease / 1000})`,
      status: sql`(case when ${webhookDeliveries.status} = 'FAILED' then 'RETRYING' else ${webhookDeliveries.status} end)::webhook_delivery_status`,
      updatedAt: sql`now()`,
    })
    .where(inArray(webhookDeliveries.id, due))
    .returning();
  await publishDeliveries(ctx, rows);
  return rows.map((delivery) => ({ delivery, token, leaseEndsAt }));
}

/** What one attempt came to, before it is recorded. */
interface Outcome {
  status: WebhookDeliveryStatus;
  /** Seconds until the next attempt (FAILED only). */
  retryInSeconds?: number;
  /** Absent when nothing was attempted (REPLAY_EXPIRED). */
  attempt?: { statusCode: number | null; durationMs: number; responseBody: string | null; error: string | null };
  disablesEndpoint?: string;
  /** A 2xx answer from an endpoint whose attempts were failing: its `failingSince` is cleared. */
  endsFailing?: boolean;
}

/**
 * Records an outcome if `claim` still owns the delivery; answers the delivery's new state, or
 * undefined when the claim had lapsed and was taken over (then nothing is written).
 */
export async function recordOutcome(ctx: ServiceContext, claim: Claim, outcome: Outcome): Promise<WebhookDeliveryRow | undefined> {
  const { delivery, token } = claim;
  const attempted = outcome.attempt !== undefined;
  const writesEndpoint =
    outcome.disablesEndpoint !== undefined || (attempted && (outcome.endsFailing || outcome.status === 'FAILED' || outcome.status === 'DEAD'));
  const row = await tenantWork(ctx, delivery.orgId, async (tx) => {
    // Endpoint before delivery, the order in which deleting an endpoint takes them (its row, then
    // its deliveries by cascade): the other order deadlocks with a delete during a failed attempt.
    if (writesEndpoint) {
      await tx.select({ id: webhookEndpoints.id }).from(webhookEndpoints).where(eq(webhookEndpoints.id, delivery.endpointId)).for('no key update');
    }
    const [row] = await tx
      .update(webhookDeliveries)
      .set({
        status: outcome.status,
        attempts: attempted ? sql`${webhookDeliveries.attempts} + 1` : undefined,
        lastAttemptAt: attempted ? sql`now()` : undefined,
        nextAttemptAt: outcome.status === 'FAILED' ? sql`now() + make_interval(secs => ${outcome.retryInSeconds ?? 0})` : null,
        deliveredAt: outcome.status === 'DELIVERED' ? sql`now()` : undefined,
        claimToken: null,
        updatedAt: sql`now()`,
      })
      .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.claimToken, token)))
      .returning();
    if (!row) return undefined;
    if (outcome.attempt) {
      await tx.insert(webhookAttempts).values({
        id: newId('wha'),
        orgId: delivery.orgId,
        deliveryId: delivery.id,
        // Numbered across series (a redelivery continues the count); the claim makes this writer the only one.
        attempt: sql`(select coalesce(max(${webhookAttempts.attempt}), 0) + 1 from ${webhookAttempts} where ${webhookAttempts.deliveryId} = ${delivery.id})`,
        ...outcome.attempt,
      });
    }
    const disabledReason = outcome.disablesEndpoint ?? (attempted ? await trackFailing(ctx, tx, delivery.endpointId, outcome) : undefined);
    if (disabledReason) await disableEndpoint(tx, delivery.orgId, delivery.endpointId, disabledReason);
    return row;
  });
  if (row) await publishDeliveries(ctx, [row]);
  else ctx.log.warn('a webhook delivery claim lapsed before its outcome was recorded', { deliveryId: delivery.id });
  return row;
}

/**
 * Keeps the endpoint's `failingSince`: a 2xx answer clears it (no statement while the endpoint
 * is healthy: the worker read it with the delivery), a failed attempt sets it unless set.
 * Answers the reason to disable the endpoint when every attempt has failed for
 * WEBHOOK_DISABLE_AFTER_HOURS (times by the services' clock, so a test moves time instead of
 * waiting hours).
 */
async function trackFailing(ctx: ServiceContext, tx: Transaction, endpointId: string, outcome: Outcome): Promise<string | undefined> {
  if (outcome.endsFailing) {
    await tx.update(webhookEndpoints).set({ failingSince: null }).where(eq(webhookEndpoints.id, endpointId));
    return undefined;
  }
  if (outcome.status !== 'FAILED' && outcome.status !== 'DEAD') return undefined;
  const now = ctx.clock.now();
  const [endpoint] = await tx
    .update(webhookEndpoints)
    .set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${new Date(now).toISOString()}::timestamptz)` })
    .where(eq(webhookEndpoints.id, endpointId))
    .returning({ failingSince: webhookEndpoints.failingSince, enabled: webhookEndpoints.enabled });
  const hours = ctx.config.webhookDisableAfterHours;
  if (!endpoint?.enabled || !endpoint.failingSince || hours === 0) return undefined;
  if (now - endpoint.failingSince.getTime() < hours * 3_600_000) return undefined;
  return `Every attempt failed for ${hours} hours (since ${endpoint.failingSince.toISOString()}); disabled on ${new Date(now).toISOString()}.`;
}

/**
 * Disables an enabled endpoint with its reason and announces it (`endpoint.disabled`, to the
 * organization's other endpoints). Conditional on `enabled`, so of any number of outcomes
 * recorded at once exactly one disables it and announces it.
 */
async function disableEndpoint(tx: Transaction, orgId: string, endpointId: string, reason: string): Promise<void> {
  const [disabled] = await tx
    .update(webhookEndpoints)
    .set({ enabled: false, disabledReason: reason, updatedAt: sql`now()` })
    .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.enabled, true)))
    .returning();
  if (disabled) await emitEvent(tx, orgId, 'endpoint.disabled', { endpoint: endpointData(disabled), reason });
}

/** Reads at most `limit` bytes of an answer, then lets the rest go. */
async function readStart(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < limit) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(total, limit));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.byteLength;
    if (offset >= bytes.length) break;
  }
  return new TextDecoder().decode(bytes);
}

/** Postgres text holds no NUL character. */
const storable = (text: string) => text.replace(/\u0000/g, '');

/** `Retry-After` in seconds (delta or HTTP date), or undefined. */
function retryAfterSeconds(header: string | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - nowMs) / 1000);
}

/** The wait after the `attempts`-th failed attempt: its backoff plus jitter, or longer when the receiver asked. */
export function retryDelaySeconds(ctx: ServiceContext, attempts: number, retryAfter: number | undefined): number {
  const backoff = ctx.config.webhookBackoffSeconds;
  const base = backoff[Math.min(attempts, backoff.length) - 1] ?? 0;
  const delay = base * (1 + Math.random() * JITTER);
  // A receiver's Retry-After is honoured, but never past the point where the event would expire anyway.
  return retryAfter === undefined ? delay : Math.min(Math.max(delay, retryAfter), ctx.config.webhookMaxEventAgeSeconds);
}

/** The body every attempt of a delivery sends: the event, byte for byte the same each time. */
export const eventBody = (event: WebhookEventRow) =>
  JSON.stringify({ id: event.id, type: event.type, timestamp: event.createdAt.toISOString(), data: event.data });

async function attemptDelivery(ctx: ServiceContext, claim: Claim, event: WebhookEventRow, endpoint: WebhookEndpointRow): Promise<Outcome> {
  const { config } = ctx;
  const attemptsAfter = claim.delivery.attempts + 1;
  const failed = (attempt: NonNullable<Outcome['attempt']>, retryAfter?: number): Outcome =>
    attemptsAfter >= config.webhookMaxAttempts
      ? { status: 'DEAD', attempt }
      : { status: 'FAILED', attempt, retryInSeconds: retryDelaySeconds(ctx, attemptsAfter, retryAfter) };

  const verdict = validateWebhookUrl(endpoint.url, config);
  if (!verdict.ok) return failed({ statusCode: null, durationMs: 0, responseBody: null, error: `not sent: ${verdict.message}` });
  let secrets: string[];
  try {
    secrets = await liveSecrets(ctx, endpoint, ctx.clock.now());
  } catch {
    return failed({
      statusCode: null,
      durationMs: 0,
      responseBody: null,
      error: "not sent: the endpoint's secret does not decrypt with this server's WEBHOOK_SECRET_KEY",
    });
  }

  const body = eventBody(event);
  const timestamp = Math.floor(ctx.clock.now() / 1000);
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Leasehold-Webhooks/1',
    ...(await signatureHeaders(secrets, { eventId: event.id, timestamp, body })),
  };
  const started = performance.now();
  let response: Response;
  let responseBody: string | null = null;
  try {
    const signal = AbortSignal.timeout(config.webhookTimeoutMs);
    const url = new URL(endpoint.url);
    const target = await deliveryTarget(url, config, ctx.resolveHost);
    if (!target.ok) return failed({ statusCode: null, durationMs: 0, responseBody: null, error: `not sent: ${target.message}` });
    // Redirects are not followed: the URL was checked, where it points was not.
    response = await postTo(url, target.address, { headers, body, signal });
    responseBody = storable(await readStart(response, RESPONSE_KEEP_BYTES).catch(() => ''));
  } catch (error) {
    const durationMs = Math.round(performance.now() - started);
    const timedOut = (error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError';
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    const message = timedOut
      ? `timed out after ${config.webhookTimeoutMs} ms`
      : storable(cause ?? (error as Error).message ?? String(error));
    return failed({ statusCode: null, durationMs, responseBody: null, error: message });
  }
  const attempt = { statusCode: response.status, durationMs: Math.round(performance.now() - started), responseBody, error: null };
  if (response.status >= 200 && response.status < 300) return { status: 'DELIVERED', attempt, endsFailing: endpoint.failingSince !== null };
  if (response.status === 410) {
    return {
      status: 'DISABLED',
      attempt,
      disablesEndpoint: `The endpoint answered 410 Gone on ${new Date(ctx.clock.now()).toISOString()}.`,
    };
  }
  return failed({ ...attempt, error: `HTTP ${response.status}` }, retryAfterSeconds(response.headers.get('retry-after'), ctx.clock.now()));
}

/**
 * Gives claims back to the queue at once, due now, for a claim that took more of one endpoint's
 * deliveries than it may send at a time; only while the claim still owns them.
 */
async function releaseClaims(ctx: ServiceContext, claims: Claim[]): Promise<void> {
  if (claims.length === 0) return;
  await ctx.db
    .update(webhookDeliveries)
    .set({ claimToken: null, nextAttemptAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(inArray(webhookDeliveries.id, claims.map((c) => c.delivery.id)), eq(webhookDeliveries.claimToken, claims[0]!.token)));
}

/** Reads what the claims' attempts need (each event and endpoint once); answers one attempt per claim, in order. */
async function prepareAttempts(ctx: ServiceContext, claims: Claim[]): Promise<(() => Promise<void>)[]> {
  if (claims.length === 0) return [];
  const eventIds = [...new Set(claims.map((c) => c.delivery.eventId))];
  const endpointIds = [...new Set(claims.map((c) => c.delivery.endpointId))];
  const [events, endpoints] = await Promise.all([
    ctx.db.select().from(webhookEvents).where(inArray(webhookEvents.id, eventIds)),
    ctx.db.select().from(webhookEndpoints).where(inArray(webhookEndpoints.id, endpointIds)),
  ]);
  const eventById = new Map(events.map((e) => [e.id, e]));
  const endpointById = new Map(endpoints.map((e) => [e.id, e]));
  const maxAgeMs = ctx.config.webhookMaxEventAgeSeconds * 1000;

  return claims.map((claim) => async () => {
    const event = eventById.get(claim.delivery.eventId);
    const endpoint = endpointById.get(claim.delivery.endpointId);
    // Deleted since the claim (deliveries go with their endpoint): nothing left to do.
    if (!event || !endpoint) return;
    // Too little of the lease left to finish: let it lapse, and another claim will send it.
    if (ctx.clock.now() + ctx.config.webhookTimeoutMs > claim.leaseEndsAt) return;
    try {
      const ageFrom = claim.delivery.redeliveredAt ?? event.createdAt;
      const outcome: Outcome =
        ctx.clock.now() - ageFrom.getTime() > maxAgeMs ? { status: 'REPLAY_EXPIRED' } : await attemptDelivery(ctx, claim, event, endpoint);
      await recordOutcome(ctx, claim, outcome);
    } catch (error) {
      // The claim lapses and the delivery is tried again.
      ctx.log.warn('a webhook delivery could not be completed', { deliveryId: claim.delivery.id, error: String(error) });
    }
  });
}

/** Delivers claimed deliveries, all at once; resolves when each outcome is recorded (or its claim found lapsed). */
export async function deliverClaimed(ctx: ServiceContext, claims: Claim[]): Promise<void> {
  await Promise.all((await prepareAttempts(ctx, claims)).map((attempt) => attempt()));
}

/** One round: claim a batch and deliver it. Answers how many were claimed. */
export async function deliverDueWebhooks(ctx: ServiceContext, scope: WorkerScope = {}): Promise<number> {
  const claims = await claimDueDeliveries(ctx, ctx.config.webhookBatchSize, scope);
  await deliverClaimed(ctx, claims);
  return claims.length;
}

export interface WebhookWorker {
  /** Claims nothing more, lets the attempts in hand finish, then stops. */
  stop(): Promise<void>;
}

/**
 * Delivers until stopped, as a pool: up to WEBHOOK_CONCURRENCY attempts run at once, and the
 * moment one ends its slot goes to the next due delivery, so a slow receiver holds only its own
 * attempts. Each endpoint has at most WEBHOOK_ENDPOINT_CONCURRENCY of them (claims skip an
 * endpoint at its cap, and give back what a claim took beyond it), so one hanging receiver never
 * takes every slot. With the queue drained the worker looks again every WEBHOOK_POLL_MS.
 */
export function startWebhookWorker(ctx: ServiceContext, scope: WorkerScope = {}): WebhookWorker {
  const { webhookConcurrency: slots, webhookEndpointConcurrency: perEndpoint, webhookBatchSize, webhookPollMs } = ctx.config;
  const byEndpoint = new Map<string, number>();
  const attempts = new Set<Promise<void>>();
  let stopped = false;
  let wake: (() => void) | undefined;
  /** Whether a freed slot ends the pause: only while slots, not the queue, were what ran out. */
  let wakeOnSlot = false;

  const pause = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => wake?.(), webhookPollMs);
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
    });

  const launch = (endpointId: string, attempt: () => Promise<void>) => {
    byEndpoint.set(endpointId, (byEndpoint.get(endpointId) ?? 0) + 1);
    const running: Promise<void> = attempt().finally(() => {
      const left = byEndpoint.get(endpointId)! - 1;
      if (left > 0) byEndpoint.set(endpointId, left);
      else byEndpoint.delete(endpointId);
      attempts.delete(running);
      if (wakeOnSlot) wake?.();
    });
    attempts.add(running);
  };

  /** Claims for the free slots and starts what it may; answers whether more may be due at once. */
  const fill = async (): Promise<boolean> => {
    const wanted = Math.min(slots - attempts.size, webhookBatchSize);
    if (wanted <= 0) return false;
    const busy = [...byEndpoint].filter(([, n]) => n >= perEndpoint).map(([id]) => id);
    const claims = await claimDueDeliveries(ctx, wanted, scope, busy);
    const taken = new Map<string, number>();
    const starting: Claim[] = [];
    const back: Claim[] = [];
    for (const claim of claims) {
      const id = claim.delivery.endpointId;
      const n = taken.get(id) ?? byEndpoint.get(id) ?? 0;
      if (n < perEndpoint) {
        taken.set(id, n + 1);
        starting.push(claim);
      } else back.push(claim);
    }
    await releaseClaims(ctx, back);
    const prepared = await prepareAttempts(ctx, starting);
    starting.forEach((claim, i) => launch(claim.delivery.endpointId, prepared[i]!));
    // A full claim may have more behind it (an endpoint that reached its cap is skipped next time).
    return claims.length === wanted;
  };

  const loop = (async () => {
    while (!stopped) {
      let more = false;
      try {
        more = await fill();
      } catch (error) {
        ctx.log.warn('webhook delivery round failed', { error: String(error) });
      }
      if (stopped) break;
      if (more && attempts.size < slots) continue;
      wakeOnSlot = attempts.size >= slots || more;
      await pause();
      wakeOnSlot = false;
    }
    await Promise.all(attempts);
  })();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
