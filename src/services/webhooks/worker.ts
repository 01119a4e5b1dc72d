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
 *   a worker whose claim lapsed records nothing. That holds row by row when outcomes are
 *   recorded many at a time (recordOutcomes). A worker also does not start a send when its
 *   lease has less than a timeout left.
 *
 * Claims and the reads that follow them span organizations, so they run on the connecting user
 * (not inTenant); each outcome is written inside its own organization.
 */
import { and, eq, getTableColumns, inArray, lte, notInArray, sql } from 'drizzle-orm';
import { webhookAttempts, webhookDeliveries, webhookEndpoints, webhookEvents } from '../../db/schema.ts';
import type { ServiceContext } from '../context.ts';
import { newId } from '../../lib/ids.ts';
import type { WebhookDeliveryRow, WebhookEndpointRow, WebhookEventRow } from '../../db/rows.ts';
import { publishDeliveries, type WebhookDeliveryStatus } from './deliveries.ts';
import { emitEvent, endpointData } from './events.ts';
import type { Transaction } from '../../db/tenant.ts';
import { liveSecrets } from './endpoints.ts';
import { SecretUnsealError } from '../encryption/envelope.ts';
import { hmacKey, signatureHeaders } from './secrets.ts';
import { deliveryTarget } from './transport.ts';
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

/**
 * How many attempts a claim may add per endpoint: `cap` in all, less what this process already
 * has in hand (`inFlight`, by endpoint id).
 */
export interface EndpointRoom {
  cap: number;
  inFlight: ReadonlyMap<string, number>;
}

export interface ClaimRound {
  claims: Claim[];
  /**
   * Whether the claim stopped at its limit of due deliveries looked at, so more may be due behind
   * them (of other endpoints, when `room` held some of these back).
   */
  full: boolean;
}

/** Claims up to `limit` due deliveries of enabled endpoints, oldest due first (claimRound, answering the claims alone). */
export async function claimDueDeliveries(
  ctx: ServiceContext,
  limit: number,
  scope: WorkerScope = {},
  room?: EndpointRoom,
): Promise<Claim[]> {
  return (await claimRound(ctx, limit, scope, room)).claims;
}

/**
 * Claims up to `limit` due deliveries of enabled endpoints, oldest due first; with `room`, no
 * more of one endpoint than it has room for. Endpoints without room are not looked at, and the
 * rest are cut to their room inside the statement, so nothing is claimed only to be given back.
 */
export async function claimRound(ctx: ServiceContext, limit: number, scope: WorkerScope = {}, room?: EndpointRoom): Promise<ClaimRound> {
  const token = crypto.randomUUID();
  const lease = leaseMs(ctx);
  const leaseEndsAt = ctx.clock.now() + lease;
  const inHand = room ? [...room.inFlight].filter(([, n]) => n > 0) : [];
  const atCap = room ? inHand.filter(([, n]) => n >= room.cap).map(([id]) => id) : [];
  const due = ctx.db.$with('due').as(
    ctx.db
      .select({ id: webhookDeliveries.id, endpointId: webhookDeliveries.endpointId, dueAt: webhookDeliveries.nextAttemptAt })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .where(
        and(
          inArray(webhookDeliveries.status, DUE),
          lte(webhookDeliveries.nextAttemptAt, sql`now()`),
          eq(webhookEndpoints.enabled, true),
          scope.organizationId ? eq(webhookDeliveries.orgId, scope.organizationId) : undefined,
          atCap.length > 0 ? notInArray(webhookDeliveries.endpointId, atCap) : undefined,
        ),
      )
      .orderBy(webhookDeliveries.nextAttemptAt)
      .limit(limit)
      .for('update', { of: webhookDeliveries, skipLocked: true }),
  );
  // Each endpoint's due deliveries numbered oldest first; those past its room stay unclaimed.
  const ranked = ctx.db.$with('ranked').as(
    ctx.db
      .select({
        id: due.id,
        endpointId: due.endpointId,
        place: sql<number>`row_number() over (partition by ${due.endpointId} order by ${due.dueAt}, ${due.id})`.as('place'),
      })
      .from(due),
  );
  const held =
    inHand.length > 0
      ? sql`coalesce((select held.n from (values ${sql.join(
          inHand.map(([id, n]) => sql`(${id}, ${n}::int)`),
          sql`, `,
        )}) as held(endpoint_id, n) where held.endpoint_id = ${ranked.endpointId}), 0)`
      : sql`0`;
  const fits = room ? sql`${ranked.place} <= ${room.cap}::int - ${held}` : undefined;
  // One statement, so its own short transaction: the row locks last only as long as it runs.
  const rows = await ctx.db
    .with(due, ranked)
    .update(webhookDeliveries)
    .set({
      claimToken: token,
      nextAttemptAt: sql`now() + make_interval(secs => ${lease / 1000})`,
      status: sql`(case when ${webhookDeliveries.status} = 'FAILED' then 'RETRYING' else ${webhookDeliveries.status} end)::webhook_delivery_status`,
      updatedAt: sql`now()`,
    })
    .where(inArray(webhookDeliveries.id, ctx.db.select({ id: ranked.id }).from(ranked).where(fits)))
    .returning({ ...getTableColumns(webhookDeliveries), looked: sql<number>`(select count(*)::int from ${due})` });
  const deliveries = rows.map(({ looked: _, ...delivery }) => delivery);
  await publishDeliveries(ctx, deliveries);
  return {
    claims: deliveries.map((delivery) => ({ delivery, token, leaseEndsAt })),
    // Every endpoint looked at had room for at least one, so an empty claim looked at nothing.
    full: (rows[0]?.looked ?? 0) >= limit,
  };
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

/** Whether recording `outcome` writes its endpoint too (failure tracking, disabling it). */
const writesEndpoint = (outcome: Outcome) =>
  outcome.disablesEndpoint !== undefined ||
  (outcome.attempt !== undefined && (outcome.endsFailing === true || outcome.status === 'FAILED' || outcome.status === 'DEAD'));

/** Outcomes that touch their delivery alone (a delivery made, a replay expired), which `recordOutcomes` takes many at a time. */
const deliveryOnly = (outcome: Outcome) => !writesEndpoint(outcome) && outcome.status !== 'FAILED';

/**
 * Records an outcome if `claim` still owns the delivery; answers the delivery's new state, or
 * undefined when the claim had lapsed and was taken over (then nothing is written).
 */
export async function recordOutcome(ctx: ServiceContext, claim: Claim, outcome: Outcome): Promise<WebhookDeliveryRow | undefined> {
  const { delivery, token } = claim;
  const attempted = outcome.attempt !== undefined;
  const row = await tenantWork(ctx, delivery.orgId, async (tx) => {
    // Endpoint before delivery, the order in which deleting an endpoint takes them (its row, then
    // its deliveries by cascade): the other order deadlocks with a delete during a failed attempt.
    if (writesEndpoint(outcome)) {
      await tx
        .select({ id: webhookEndpoints.id })
        .from(webhookEndpoints)
        .where(eq(webhookEndpoints.id, delivery.endpointId))
        .for('no key update');
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
  if (row) {
    ctx.metrics.webhookAttempt(outcome.status);
    await publishDeliveries(ctx, [row]);
  } else lapsed(ctx, delivery.id);
  return row;
}

const lapsed = (ctx: ServiceContext, deliveryId: string) =>
  ctx.log.warn('a webhook delivery claim lapsed before its outcome was recorded', { deliveryId });

export interface Recording {
  claim: Claim;
  outcome: Outcome;
}

/**
 * Records outcomes of one organization that touch only their deliveries (`deliveryOnly`), all
 * in one transaction of two statements whatever their number: one update of the deliveries,
 * each row only where its claim still owns it (the same claim-token condition as
 * recordOutcome's), then the attempts of the rows it updated. A lapsed claim records nothing.
 * Answers each delivery's new state, in order, or undefined where the claim had lapsed.
 * A delivery appears at most once (its claims, lapsed or not, are for one batch each).
 */
export async function recordOutcomes(
  ctx: ServiceContext,
  orgId: string,
  recordings: Recording[],
): Promise<(WebhookDeliveryRow | undefined)[]> {
  if (recordings.length === 0) return [];
  const outcomes = sql.join(
    recordings.map(
      ({ claim, outcome }) => sql`(${claim.delivery.id}, ${claim.token}, ${outcome.status}, ${outcome.attempt !== undefined})`,
    ),
    sql`, `,
  );
  const rows = await tenantWork(ctx, orgId, async (tx) => {
    const updated = await tx
      .update(webhookDeliveries)
      .set({
        status: sql`outcome.status::webhook_delivery_status`,
        attempts: sql`${webhookDeliveries.attempts} + outcome.attempted::int`,
        lastAttemptAt: sql`(case when outcome.attempted then now() else ${webhookDeliveries.lastAttemptAt} end)`,
        nextAttemptAt: null,
        deliveredAt: sql`(case when outcome.status = 'DELIVERED' then now() else ${webhookDeliveries.deliveredAt} end)`,
        claimToken: null,
        updatedAt: sql`now()`,
      })
      .from(sql`(values ${outcomes}) as outcome(id, token, status, attempted)`)
      .where(and(sql`${webhookDeliveries.id} = outcome.id`, sql`${webhookDeliveries.claimToken} = outcome.token`))
      .returning(getTableColumns(webhookDeliveries));
    const recorded = new Set(updated.map((row) => row.id));
    const attempts = recordings.flatMap(({ claim: { delivery }, outcome }) =>
      outcome.attempt && recorded.has(delivery.id)
        ? [
            {
              id: newId('wha'),
              orgId,
              deliveryId: delivery.id,
              // As in recordOutcome; each delivery once per statement, so its count is read once.
              attempt: sql`(select coalesce(max(${webhookAttempts.attempt}), 0) + 1 from ${webhookAttempts} where ${webhookAttempts.deliveryId} = ${delivery.id})`,
              ...outcome.attempt,
            },
          ]
        : [],
    );
    if (attempts.length > 0) await tx.insert(webhookAttempts).values(attempts);
    return updated;
  });
  const byId = new Map(rows.map((row) => [row.id, row]));
  for (const { claim, outcome } of recordings) {
    if (byId.has(claim.delivery.id)) ctx.metrics.webhookAttempt(outcome.status);
    else lapsed(ctx, claim.delivery.id);
  }
  await publishDeliveries(ctx, rows);
  return recordings.map(({ claim }) => byId.get(claim.delivery.id));
}

/** The most outcomes one recordOutcomes statement takes. */
const RECORD_BATCH_LIMIT = 200;

export interface OutcomeRecorder {
  /** Records the outcome (as recordOutcome would); resolves with the delivery's new state, or undefined if the claim lapsed. */
  record(claim: Claim, outcome: Outcome): Promise<WebhookDeliveryRow | undefined>;
}

/**
 * Records outcomes as attempts end, in batches: an outcome that touches only its delivery waits
 * for the batch being written to finish, then goes out with every other that arrived meanwhile
 * (one recordOutcomes per organization). So a lone outcome is written at once, and under load
 * the statements per outcome fall with the load. Outcomes that write their endpoint go one by
 * one, through recordOutcome.
 */
export function outcomeRecorder(ctx: ServiceContext): OutcomeRecorder {
  type Waiting = Recording & { resolve(row: WebhookDeliveryRow | undefined): void; reject(error: unknown): void };
  let waiting: Waiting[] = [];
  let writing = false;

  const write = async (batch: Waiting[]) => {
    const byOrg = new Map<string, Waiting[]>();
    for (const w of batch) byOrg.set(w.claim.delivery.orgId, [...(byOrg.get(w.claim.delivery.orgId) ?? []), w]);
    await Promise.all(
      [...byOrg].map(async ([orgId, group]) => {
        try {
          const rows = await recordOutcomes(ctx, orgId, group);
          group.forEach((w, i) => w.resolve(rows[i]));
        } catch (error) {
          for (const w of group) w.reject(error);
        }
      }),
    );
  };

  const drain = async () => {
    writing = true;
    while (waiting.length > 0) {
      const batch: Waiting[] = [];
      const later: Waiting[] = [];
      const ids = new Set<string>();
      for (const w of waiting) {
        // A second claim of the same delivery waits for the next statement: one row, one outcome per statement.
        if (batch.length < RECORD_BATCH_LIMIT && !ids.has(w.claim.delivery.id)) {
          ids.add(w.claim.delivery.id);
          batch.push(w);
        } else later.push(w);
      }
      waiting = later;
      await write(batch);
    }
    writing = false;
  };

  return {
    record(claim, outcome) {
      if (!deliveryOnly(outcome)) return recordOutcome(ctx, claim, outcome);
      return new Promise((resolve, reject) => {
        waiting.push({ claim, outcome, resolve, reject });
        if (!writing) void drain();
      });
    },
  };
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

/** How long a worker signs with an endpoint's opened secrets before it opens them again. */
const SIGNING_KEYS_TTL_MS = 60_000;
/** Endpoints whose opened secrets a worker keeps at most. */
const SIGNING_KEYS_LIMIT = 1000;

/** The HMAC keys of an endpoint's live secrets (newest first), as of `nowMs`. */
type SigningKeys = (endpoint: WebhookEndpointRow, nowMs: number) => Promise<CryptoKey[]>;

/**
 * Opens each endpoint's secrets once a minute rather than per attempt (an AES-GCM open and two
 * key imports each, KMS aside). Kept by the sealed values the endpoint's row holds, which the
 * worker reads with every claim, so a rotation, a retired secret or a tampered row is seen at
 * the next attempt; the previous secret stops signing at its expiry as before. Only what
 * opened is kept (an error is met again by the next attempt), and only in this worker's
 * memory, never logged.
 */
function signingKeyCache(ctx: ServiceContext): SigningKeys {
  const cache = new Map<string, { until: number; keys: Promise<CryptoKey[]> }>();
  return (endpoint, nowMs) => {
    const previousExpiresAt = endpoint.previousSecretExpiresAt?.getTime();
    const key = [endpoint.id, endpoint.secretCiphertext, endpoint.previousSecretCiphertext ?? '', previousExpiresAt ?? ''].join('\n');
    const kept = cache.get(key);
    if (kept && kept.until > nowMs) return kept.keys;
    const keys = liveSecrets(ctx, endpoint, nowMs).then((secrets) => Promise.all(secrets.map(hmacKey)));
    const signsPrevious = endpoint.previousSecretCiphertext !== null && previousExpiresAt !== undefined && previousExpiresAt > nowMs;
    const until = Math.min(nowMs + SIGNING_KEYS_TTL_MS, signsPrevious ? previousExpiresAt : Infinity);
    cache.delete(key);
    if (cache.size >= SIGNING_KEYS_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(key, { until, keys });
    keys.catch(() => {
      if (cache.get(key)?.keys === keys) cache.delete(key);
    });
    return keys;
  };
}

async function attemptDelivery(
  ctx: ServiceContext,
  signingKeys: SigningKeys,
  claim: Claim,
  event: WebhookEventRow,
  endpoint: WebhookEndpointRow,
): Promise<Outcome> {
  const { config } = ctx;
  const attemptsAfter = claim.delivery.attempts + 1;
  const failed = (attempt: NonNullable<Outcome['attempt']>, retryAfter?: number): Outcome =>
    attemptsAfter >= config.webhookMaxAttempts
      ? { status: 'DEAD', attempt }
      : { status: 'FAILED', attempt, retryInSeconds: retryDelaySeconds(ctx, attemptsAfter, retryAfter) };

  const verdict = validateWebhookUrl(endpoint.url, config);
  if (!verdict.ok) return failed({ statusCode: null, durationMs: 0, responseBody: null, error: `not sent: ${verdict.message}` });
  let keys: CryptoKey[];
  try {
    keys = await signingKeys(endpoint, ctx.clock.now());
  } catch (error) {
    // What the operator needs to act on (a key to configure, a tampered row, KMS away), never a secret.
    const why = error instanceof SecretUnsealError ? error.message : 'it could not be opened';
    return failed({ statusCode: null, durationMs: 0, responseBody: null, error: `not sent: the endpoint's signing secret ${why}` });
  }

  const body = eventBody(event);
  const timestamp = Math.floor(ctx.clock.now() / 1000);
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Leasehold-Webhooks/1',
    ...(await signatureHeaders(keys, { eventId: event.id, timestamp, body })),
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
    response = await ctx.postTo(url, target.address, { headers, body, signal });
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
 * A claimed delivery ready to go: sends it and answers the outcome to record, or undefined when
 * there is nothing to record (its claim is left to lapse, and another claim will send it).
 */
type Send = () => Promise<Outcome | undefined>;

/** Reads what the claims' attempts need (each event and endpoint once); answers one send per claim, in order. */
async function prepareAttempts(ctx: ServiceContext, claims: Claim[], signingKeys: SigningKeys): Promise<Send[]> {
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
    if (!event || !endpoint) return undefined;
    // Too little of the lease left to finish: let it lapse, and another claim will send it.
    if (ctx.clock.now() + ctx.config.webhookTimeoutMs > claim.leaseEndsAt) return undefined;
    const ageFrom = claim.delivery.redeliveredAt ?? event.createdAt;
    return ctx.clock.now() - ageFrom.getTime() > maxAgeMs
      ? { status: 'REPLAY_EXPIRED' }
      : attemptDelivery(ctx, signingKeys, claim, event, endpoint);
  });
}

/**
 * Sends one claimed delivery and records its outcome; `sent` is called once the send is over
 * (answered, failed or timed out), before the outcome is written. Never throws: a failure is
 * logged and the claim lapses, so the delivery is tried again.
 */
async function runAttempt(
  ctx: ServiceContext,
  claim: Claim,
  send: Send,
  recorder: OutcomeRecorder,
  sent: () => void = () => {},
): Promise<void> {
  try {
    let outcome: Outcome | undefined;
    try {
      outcome = await send();
    } finally {
      sent();
    }
    if (outcome) await recorder.record(claim, outcome);
  } catch (error) {
    ctx.log.warn('a webhook delivery could not be completed', { deliveryId: claim.delivery.id, error: String(error) });
  }
}

/** Delivers claimed deliveries, all at once; resolves when each outcome is recorded (or its claim found lapsed). */
export async function deliverClaimed(ctx: ServiceContext, claims: Claim[]): Promise<void> {
  const sends = await prepareAttempts(ctx, claims, signingKeyCache(ctx));
  const recorder = outcomeRecorder(ctx);
  await Promise.all(claims.map((claim, i) => runAttempt(ctx, claim, sends[i]!, recorder)));
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
 * attempts. Each endpoint has at most WEBHOOK_ENDPOINT_CONCURRENCY requests open at once (a
 * claim takes no more of an endpoint than it has room for), so one hanging receiver never takes
 * every slot. An endpoint's room comes back as soon as its answer is in; the slot, once the
 * outcome is recorded (outcomes are recorded in batches, outcomeRecorder). With the queue drained
 * the worker looks again every WEBHOOK_POLL_MS.
 */
export function startWebhookWorker(ctx: ServiceContext, scope: WorkerScope = {}): WebhookWorker {
  const { webhookConcurrency: slots, webhookEndpointConcurrency: perEndpoint, webhookBatchSize, webhookPollMs } = ctx.config;
  const byEndpoint = new Map<string, number>();
  const attempts = new Set<Promise<void>>();
  const recorder = outcomeRecorder(ctx);
  const signingKeys = signingKeyCache(ctx);
  let stopped = false;
  let wake: (() => void) | undefined;
  /** Whether a freed slot or endpoint room ends the pause: only while they, not the queue, were what ran out. */
  let wakeOnSlot = false;
  /** A slot or room freed since the last claim began: while claiming there is no pause for it to end. */
  let freed = false;

  const pause = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => wake?.(), webhookPollMs);
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
    });

  const free = () => {
    freed = true;
    if (wakeOnSlot) wake?.();
  };

  const launch = (claim: Claim, send: Send) => {
    const endpointId = claim.delivery.endpointId;
    byEndpoint.set(endpointId, (byEndpoint.get(endpointId) ?? 0) + 1);
    const sent = () => {
      const left = byEndpoint.get(endpointId)! - 1;
      if (left > 0) byEndpoint.set(endpointId, left);
      else byEndpoint.delete(endpointId);
      free();
    };
    const running: Promise<void> = runAttempt(ctx, claim, send, recorder, sent).finally(() => {
      attempts.delete(running);
      free();
    });
    attempts.add(running);
  };

  /**
   * Claims for the free slots and starts what it claimed. Answers whether more may be due at
   * once, and whether an endpoint's cap held deliveries back (then the next room that frees is
   * worth a claim at once rather than at the next poll).
   */
  const fill = async (): Promise<{ more: boolean; capped: boolean }> => {
    const wanted = Math.min(slots - attempts.size, webhookBatchSize);
    if (wanted <= 0) return { more: false, capped: false };
    const inFlight = new Map(byEndpoint);
    const { claims, full } = await claimRound(ctx, wanted, scope, { cap: perEndpoint, inFlight });
    const sends = await prepareAttempts(ctx, claims, signingKeys);
    claims.forEach((claim, i) => launch(claim, sends[i]!));
    // Whether an endpoint's room ran out in this claim: its answers may have given some back since.
    const held = new Map(inFlight);
    for (const { delivery } of claims) held.set(delivery.endpointId, (held.get(delivery.endpointId) ?? 0) + 1);
    const capped = [...held.values()].some((n) => n >= perEndpoint);
    // A claim that stopped at its limit may have more behind it: of other endpoints, when caps held some back.
    return { more: full, capped };
  };

  const loop = (async () => {
    while (!stopped) {
      let more = false;
      let capped = false;
      const wasFull = attempts.size >= slots;
      freed = false;
      try {
        ({ more, capped } = await fill());
      } catch (error) {
        ctx.log.warn('webhook delivery round failed', { error: String(error) });
      }
      if (stopped) break;
      if (more && attempts.size < slots) continue;
      wakeOnSlot = wasFull || attempts.size >= slots || more || capped;
      // A slot that freed while claiming would have ended a pause that had not begun.
      if (wakeOnSlot && freed) continue;
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
