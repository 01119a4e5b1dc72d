/**
 * Dashboard users: sign-in with a password, short access tokens, and single-use refresh tokens
 * that rotate on every refresh. Reusing a spent refresh token means it was stolen (or the
 * client is broken): the whole family is revoked. Sign-in runs across organizations (the email
 * is unique server-wide), on the connecting user; everything after it is tenant work.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { organizations, refreshTokens, users } from '../../db/schema.ts';
import { type Transaction } from '../../db/tenant.ts';
import { appendAudit } from '../audit/auditLog.ts';
import type { Actor, ServiceContext } from '../context.ts';
import { err, guarded, InvalidCredentials, InvalidInput, ok, RequestError, type Result } from '../errors.ts';
import { newId } from '../../lib/ids.ts';
import { DUMMY_PASSWORD_HASH, hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import type { Role } from '../principals.ts';
import { base64url, sha256Hex } from '../../lib/encoding.ts';
import { databaseWork, tenantWork } from '../database.ts';
import { bucketSpec, retryAfterSeconds } from '../rateLimits.ts';
import type { RateLimit } from '../../config/rateLimitPolicy.ts';
import type { UserRow } from '../../db/rows.ts';

export const REFRESH_TOKEN_TTL_SECONDS = 7 * 86_400;

/**
 * How long an address the account signed in from passes the account's own bound (RATE_LIMITS
 * `signInAccount`): that bound is the one strangers with many addresses could use up, and the
 * owner still gets in from hers. The other two bounds (`signInAccountAddress`, `signInAddress`)
 * are an attacker's own to spend.
 */
const KNOWN_ADDRESS_SECONDS = 30 * 86_400;

export interface SignedIn {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: { id: string; orgId: string; email: string; role: Role };
}

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

/** An address with one @ and no spaces, within SMTP's 254 characters: all a sign-in needs of it. */
export const isEmailAddress = (value: string) => value.length <= 254 && /^[^\s@]+@[^\s@]+$/.test(value);

/** Takes one attempt from a bucket; the refusal to throw when it is empty, or undefined. */
async function attempt(ctx: ServiceContext, bucket: string, limit: RateLimit): Promise<RequestError | undefined> {
  const result = await guarded('The rate limiter', () => ctx.rateLimiter.take(`login:${bucket}`, bucketSpec(limit)));
  if (result.allowed) return undefined;
  const retryAfter = retryAfterSeconds(result);
  return new RequestError('RATE_LIMITED', `Too many sign-in attempts; try again in ${retryAfter} s.`, { retryAfter });
}

const fromAddress = (ctx: ServiceContext, clientIp: string) => attempt(ctx, `address:${clientIp}`, ctx.config.rateLimits.signInAddress);

/**
 * Single sign-on's bound: the address's alone, shared with password sign-in. A token proves
 * itself by signature, so there is no account to guess at; what a stranger can spend is the
 * verification, and a look-up of the issuer's key set when the token names a key it lacks.
 */
export async function limitSignInFromAddress(ctx: ServiceContext, clientIp: string): Promise<void> {
  const refused = await fromAddress(ctx, clientIp);
  if (refused) throw refused;
}

async function limitSignIn(ctx: ServiceContext, email: string, clientIp: string): Promise<void> {
  const limits = ctx.config.rateLimits;
  const refused =
    (await attempt(ctx, `account-address:${email}|${clientIp}`, limits.signInAccountAddress)) ?? (await fromAddress(ctx, clientIp));
  if (refused) throw refused;
  const accountRefused = await attempt(ctx, `account:${email}`, limits.signInAccount);
  // Asked alike for every email, an account or not, so the answer tells nothing of which exist.
  if (accountRefused && !(await guarded('The sign-in store', () => ctx.signIns.knowsAddress(email, clientIp)))) throw accountRefused;
}

async function issueTokens(ctx: ServiceContext, user: SignedIn['user'], familyId: string, tx: Transaction): Promise<SignedIn> {
  const access = await ctx.accessTokens.issue({ sub: user.id, org: user.orgId, roles: [user.role], sid: familyId });
  const refreshToken = `rt_${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
  const refreshTokenExpiresAt = new Date(ctx.clock.now() + REFRESH_TOKEN_TTL_SECONDS * 1000);
  await tx.insert(refreshTokens).values({
    id: newId('rtk'),
    orgId: user.orgId,
    userId: user.id,
    familyId,
    tokenHash: await sha256Hex(refreshToken),
    expiresAt: refreshTokenExpiresAt,
  });
  return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken, refreshTokenExpiresAt, user };
}

/**
 * A wrong password and an unknown email cost the same: one lookup, one scrypt (against a dummy
 * hash when there is no account), and no write in any organization. A failed sign-in of a real
 * account used to add a row to its audit log in a tenant transaction, and that extra work told
 * a stranger with a stopwatch which emails have accounts; failures are counted by the limiter
 * and logged alike instead. Only a success does tenant work.
 */
export async function login(
  ctx: ServiceContext,
  input: { email: string; password: string },
  clientIp: string,
  requestId: string,
): Promise<Result<SignedIn, InvalidCredentials>> {
  const email = normaliseEmail(input.email);
  await limitSignIn(ctx, email, clientIp);
  const [user] = await databaseWork(() => ctx.db.select().from(users).where(eq(users.email, email)));
  // A user of single sign-on has no password: the dummy costs the same and matches nothing.
  const passwordHash = user?.passwordHash;
  const valid = await verifyPassword(input.password, passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!user || !passwordHash || !valid) {
    ctx.log.info('sign-in refused', { ip: clientIp, requestId });
    return err(new InvalidCredentials());
  }
  // The one moment the password is known: a hash of older parameters is made again with today's.
  const rehashed = needsRehash(passwordHash) ? await hashPassword(input.password) : undefined;
  const signedIn = await startSignIn(ctx, viewOf(user), async (tx) => {
    if (rehashed) {
      // Conditional on the hash it replaces, so a password changed meanwhile is not undone.
      await tx
        .update(users)
        .set({ passwordHash: rehashed })
        .where(and(eq(users.id, user.id), eq(users.passwordHash, passwordHash)));
    }
    await appendAudit(tx, actorOf(user, requestId), [
      { action: 'user.logged_in', resourceType: 'user', resourceId: user.id, data: { ip: clientIp } },
    ]);
  });
  await guarded('The sign-in store', () => ctx.signIns.rememberAddress(email, clientIp, KNOWN_ADDRESS_SECONDS));
  return ok(signedIn);
}

export const actorOf = (user: UserRow, requestId: string | null): Actor => ({ type: 'user', id: user.id, orgId: user.orgId, requestId });
export const viewOf = (user: UserRow): SignedIn['user'] => ({ id: user.id, orgId: user.orgId, email: user.email, role: user.role });

/**
 * A new sign-in session of a user whose credentials were proven (by `login`, or by whatever
 * stands in for the password, like a test harness): tokens of a new refresh-token family, plus
 * the caller's own writes in the same transaction.
 */
export function startSignIn(
  ctx: ServiceContext,
  user: SignedIn['user'],
  alsoInTransaction: (tx: Transaction) => Promise<void> = async () => {},
): Promise<SignedIn> {
  return tenantWork(ctx, user.orgId, async (tx) => {
    await alsoInTransaction(tx);
    return issueTokens(ctx, user, newId('rtf'), tx);
  });
}

/**
 * A signed-in user replaces their password, proving the current one. Every sign-in session of
 * the user ends (refresh tokens revoked, access tokens refused from then on, the caller's own
 * included) and the caller gets a new sign-in. Limited like sign-in from one address, per
 * account, against guessing the current password.
 */
export async function changePassword(
  ctx: ServiceContext,
  actor: Actor,
  input: { currentPassword: string; newPassword: string },
): Promise<Result<SignedIn, InvalidCredentials | InvalidInput>> {
  if (actor.type !== 'user' || !actor.id) throw new RequestError('FORBIDDEN', 'Only a signed-in user has a password to change.');
  const userId = actor.id;
  const invalid = passwordProblem(input.newPassword, 'newPassword');
  if (invalid) return err(invalid);
  const refused = await attempt(ctx, `account-id:${userId}`, ctx.config.rateLimits.signInAccountAddress);
  if (refused) throw refused;
  const [user] = await tenantWork(ctx, actor.orgId, (tx) => tx.select().from(users).where(eq(users.id, userId)));
  if (user && !user.passwordHash) return err(new InvalidCredentials('This account signs in through single sign-on; it has no password.'));
  const currentHash = user?.passwordHash;
  if (!user || !currentHash || !(await verifyPassword(input.currentPassword, currentHash))) {
    return err(new InvalidCredentials('The current password is not correct.'));
  }
  const passwordHash = await hashPassword(input.newPassword);
  let ended: string[] = [];
  const changed = await tenantWork(ctx, actor.orgId, async (tx) => {
    const [row] = await tx
      .update(users)
      .set({ passwordHash })
      .where(and(eq(users.id, user.id), eq(users.passwordHash, currentHash)))
      .returning({ id: users.id });
    // Another change won the race: this one proved a password that is no longer current.
    if (!row) return undefined;
    const revoked = await tx
      .update(refreshTokens)
      .set({ revokedAt: new Date(ctx.clock.now()) })
      .where(and(eq(refreshTokens.userId, user.id), isNull(refreshTokens.revokedAt)))
      .returning({ familyId: refreshTokens.familyId });
    ended = [...new Set(revoked.map((r) => r.familyId))];
    await appendAudit(tx, actor, [{ action: 'user.password_changed', resourceType: 'user', resourceId: user.id }]);
    return issueTokens(ctx, viewOf(user), newId('rtf'), tx);
  });
  await ctx.signInSessions.end(ended);
  return changed ? ok(changed) : err(new InvalidCredentials('The current password is not correct.'));
}

export async function refreshSession(
  ctx: ServiceContext,
  refreshToken: string,
  requestId: string,
): Promise<Result<SignedIn, InvalidCredentials>> {
  const tokenHash = await sha256Hex(refreshToken);
  const [row] = await databaseWork(() => ctx.db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)));
  if (!row || row.revokedAt || row.expiresAt.getTime() <= ctx.clock.now())
    return err(new InvalidCredentials('The refresh token is not valid.'));
  const actor: Actor = { type: 'user', id: row.userId, orgId: row.orgId, requestId };
  const outcome = await tenantWork(ctx, row.orgId, async (tx) => {
    // Spending is one conditional update, so of two concurrent refreshes exactly one wins.
    const [spent] = await tx
      .update(refreshTokens)
      .set({ usedAt: new Date(ctx.clock.now()) })
      .where(and(eq(refreshTokens.id, row.id), isNull(refreshTokens.usedAt), isNull(refreshTokens.revokedAt)))
      .returning();
    if (!spent) {
      await tx
        .update(refreshTokens)
        .set({ revokedAt: new Date(ctx.clock.now()) })
        .where(and(eq(refreshTokens.familyId, row.familyId), isNull(refreshTokens.revokedAt)));
      await appendAudit(tx, actor, [
        { action: 'user.refresh_token_reused', resourceType: 'user', resourceId: row.userId, data: { familyId: row.familyId } },
      ]);
      return undefined;
    }
    const [user] = await tx.select().from(users).where(eq(users.id, row.userId));
    if (!user) return undefined;
    return issueTokens(ctx, viewOf(user), row.familyId, tx);
  });
  if (outcome) return ok(outcome);
  await ctx.signInSessions.end([row.familyId]);
  return err(new InvalidCredentials('The refresh token was already used; its whole family is now revoked.'));
}

/**
 * Ends the sign-in session of this refresh token: its family revoked, its access tokens refused
 * from then on. Called again for an ended session it ends it again, so a logout answered
 * SERVICE_UNAVAILABLE (the sign-in store away after Postgres recorded it) can simply be retried.
 */
export async function logout(ctx: ServiceContext, refreshToken: string, requestId: string): Promise<boolean> {
  const [row] = await databaseWork(async () =>
    ctx.db
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, await sha256Hex(refreshToken))),
  );
  if (!row) return false;
  const actor: Actor = { type: 'user', id: row.userId, orgId: row.orgId, requestId };
  await tenantWork(ctx, row.orgId, async (tx) => {
    await tx
      .update(refreshTokens)
      .set({ revokedAt: new Date(ctx.clock.now()) })
      .where(and(eq(refreshTokens.familyId, row.familyId), isNull(refreshTokens.revokedAt)));
    await appendAudit(tx, actor, [{ action: 'user.logged_out', resourceType: 'user', resourceId: row.userId }]);
  });
  await ctx.signInSessions.end([row.familyId]);
  return true;
}

const PASSWORD_MIN = 12;
/** Longer is not a password anyone types; bounded like every other string input. */
const PASSWORD_MAX = 1024;

function passwordProblem(password: string, field: string): InvalidInput | undefined {
  if (password.length < PASSWORD_MIN) return new InvalidInput(`${field} must be at least ${PASSWORD_MIN} characters`, field);
  if (password.length > PASSWORD_MAX) return new InvalidInput(`${field} must be at most ${PASSWORD_MAX} characters`, field);
  return undefined;
}

export async function createUser(
  ctx: ServiceContext,
  actor: Actor,
  input: {
    email: string;
    password: string;
    role: Role;
    /** The hash of `password`, where the caller started it ahead (the first start's owner, bootstrap.ts). */
    passwordHash?: Promise<string>;
  },
): Promise<Result<SignedIn['user'], InvalidInput>> {
  const email = normaliseEmail(input.email);
  if (!isEmailAddress(email)) return err(new InvalidInput('email is not an email address', 'email'));
  const invalid = passwordProblem(input.password, 'password');
  if (invalid) return err(invalid);
  const passwordHash = await (input.passwordHash ?? hashPassword(input.password));
  const created = await tenantWork(ctx, actor.orgId, async (tx) => {
    const [row] = await tx
      .insert(users)
      .values({ id: newId('usr'), orgId: actor.orgId, email, passwordHash, role: input.role })
      .onConflictDoNothing()
      .returning();
    if (row) await appendAudit(tx, actor, [{ action: 'user.created', resourceType: 'user', resourceId: row.id, data: { role: row.role } }]);
    return row;
  });
  if (!created) return err(new InvalidInput('a user with this email exists', 'email'));
  return ok({ id: created.id, orgId: created.orgId, email: created.email, role: created.role });
}

/** A new organization: made across organizations by nature (bootstrap, CLI). */
export async function createOrganization(ctx: Pick<ServiceContext, 'db'>, name: string): Promise<string> {
  const id = newId('org');
  await ctx.db.insert(organizations).values({ id, name });
  return id;
}
