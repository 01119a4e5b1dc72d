/**
 * Authenticating a request by its API key secret. Checks run in a fixed order, each refusal
 * with its own `extensions.reason`: exists → not revoked → not expired → right environment →
 * address allowed. Scope checks follow in the schema, the rate limit after them.
 */
import { eq, or } from 'drizzle-orm';
import { apiKeys } from '../../db/schema.ts';
import type { ApiKeyRow } from '../../db/rows.ts';
import { timingSafeEqual } from '../../lib/constantTime.ts';
import { ipInCidrs } from '../../lib/ipAddress.ts';
import type { ServiceContext } from '../context.ts';
import { RefusalReason, RequestError } from '../errors.ts';
import { databaseWork } from '../database.ts';
import { isScope, type Principal } from '../principals.ts';
import { hashApiKeySecret, SECRET_PATTERN, type ApiKeyEnvironment } from './secrets.ts';

const refuse = (code: 'UNAUTHENTICATED' | 'FORBIDDEN', reason: RefusalReason, message: string) =>
  new RequestError(code, message, { reason });

/** The key whose current or previous secret has this hash: from the instance's cache, else from Postgres. */
async function keyOfHash(ctx: ServiceContext, hash: string, now: number): Promise<ApiKeyRow | undefined> {
  const cached = ctx.apiKeys.get(hash, now);
  if (cached) return cached;
  const [found] = await databaseWork(() =>
    ctx.db
      .select()
      .from(apiKeys)
      .where(or(eq(apiKeys.secretHash, hash), eq(apiKeys.previousSecretHash, hash)))
      .limit(1),
  );
  if (found) ctx.apiKeys.set(hash, found, now);
  return found;
}

const invalid = () => refuse('UNAUTHENTICATED', RefusalReason.API_KEY_INVALID, 'The API key is not valid.');

/**
 * Why the secret with this hash does not authenticate at `now` (unknown, revoked, expired, or a
 * rotated-out secret past its grace), or undefined while it does. The checks of one request
 * (environment, address) are the caller's.
 */
function standingRefusal(key: ApiKeyRow | undefined, hash: string, now: number): RequestError | undefined {
  // The row was found by this hash; comparing again in constant time also guards a stale cache entry.
  const isCurrent = key !== undefined && timingSafeEqual(key.secretHash, hash);
  const isPrevious = key !== undefined && !isCurrent && key.previousSecretHash !== null && timingSafeEqual(key.previousSecretHash, hash);
  if (!key || (!isCurrent && !isPrevious)) return invalid();
  if (key.revokedAt && key.revokedAt.getTime() <= now) {
    return refuse('UNAUTHENTICATED', RefusalReason.API_KEY_REVOKED, 'The API key has been revoked.');
  }
  if (key.expiresAt && key.expiresAt.getTime() <= now) {
    return refuse('UNAUTHENTICATED', RefusalReason.API_KEY_EXPIRED, 'The API key has expired.');
  }
  if (isPrevious && !(key.previousExpiresAt && key.previousExpiresAt.getTime() > now)) {
    return refuse('UNAUTHENTICATED', RefusalReason.API_KEY_EXPIRED, 'This secret was replaced by a rotation and its grace period is over.');
  }
  return undefined;
}

/**
 * Whether an API key a subscription was opened with still authenticates (undefined) or why not:
 * asked before each event, through the same cache as every request (a revoke on this instance
 * at once, on another within API_KEY_CACHE_TTL_MS).
 */
export async function apiKeyStanding(ctx: ServiceContext, secretHash: string): Promise<RequestError | undefined> {
  const now = ctx.clock.now();
  return standingRefusal(await keyOfHash(ctx, secretHash, now), secretHash, now);
}

/**
 * The principal of an API key secret, or a RequestError saying why not. The lookup runs
 * across organizations (the secret is the only thing the caller has told us), so it reads
 * api_keys on the connecting user rather than inside one tenant.
 */
export async function authenticateApiKey(
  ctx: ServiceContext,
  secret: string,
  request: { clientIp: string; serverEnvironment: ApiKeyEnvironment },
): Promise<Principal> {
  if (!SECRET_PATTERN.test(secret)) throw invalid();
  const hash = await hashApiKeySecret(secret);
  const now = ctx.clock.now();
  const key = await keyOfHash(ctx, hash, now);
  const refusal = standingRefusal(key, hash, now);
  if (refusal || !key) throw refusal ?? invalid();
  if (key.environment !== request.serverEnvironment) {
    throw refuse(
      'UNAUTHENTICATED',
      RefusalReason.API_KEY_WRONG_ENVIRONMENT,
      `This is a ${key.environment} key; this server accepts ${request.serverEnvironment} keys.`,
    );
  }
  if (key.ipAllowlist.length > 0 && !ipInCidrs(request.clientIp, key.ipAllowlist)) {
    throw refuse('FORBIDDEN', RefusalReason.IP_NOT_ALLOWED, 'The API key may not be used from this address.');
  }
  ctx.apiKeys.lastUsed.record(key.id, new Date(now));
  return {
    kind: 'apiKey',
    orgId: key.orgId,
    keyId: key.id,
    secretHash: hash,
    environment: key.environment,
    tier: key.tier,
    scopes: key.scopes.filter(isScope),
  };
}
