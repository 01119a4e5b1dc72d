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

export const REFRESH_TOKEN_TTL_SECONDS = 7 * 86_400;
/** Sign-in attempts allowed per account and per address, per minute. */
const LOGIN_ATTEMPTS_PER_MINUTE = 5;

export interface SignedIn {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: { id: string; orgId: string; email: string; role: Role };
}

const normaliseEmail = (email: string) => email.trim().toLowerCase();

async function limitLogin(ctx: ServiceContext, bucket: string) {
  const result = await guarded('The rate limiter', () =>
    ctx.rateLimiter.take(`login:${bucket}`, { capacity: LOGIN_ATTEMPTS_PER_MINUTE, refillPerSecond: LOGIN_ATTEMPTS_PER_MINUTE / 60 }),
  );
  if (!result.allowed) {
    const retryAfter = Math.ceil(result.retryAfterMs / 1000);
    throw new RequestError('RATE_LIMITED', `Too many sign-in attempts; try again in ${retryAfter} s.`, { retryAfter });
  }
}

async function issueTokens(ctx: ServiceContext, user: SignedIn['user'], familyId: string, tx: Transaction): Promise<SignedIn> {
  const access = await ctx.accessTokens.issue({ sub: user.id, org: user.orgId, roles: [user.role] });
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

export async function login(
  ctx: ServiceContext,
  input: { email: string; password: string },
  clientIp: string,
  requestId: string,
): Promise<Result<SignedIn, InvalidCredentials>> {
  const email = normaliseEmail(input.email);
  await limitLogin(ctx, `ip:${clientIp}`);
  await limitLogin(ctx, `account:${email}`);
  const [user] = await databaseWork(() => ctx.db.select().from(users).where(eq(users.email, email)));
  const valid = await verifyPassword(input.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!user || !valid) {
    if (user) {
      const actor: Actor = { type: 'user', id: user.id, orgId: user.orgId, requestId };
      await tenantWork(ctx, user.orgId, (tx) =>
        appendAudit(tx, actor, [{ action: 'user.login_failed', resourceType: 'user', resourceId: user.id, data: { ip: clientIp } }]),
      );
    } else {
      ctx.log.info('sign-in for an unknown account', { ip: clientIp });
    }
    return err(new InvalidCredentials());
  }
  const view = { id: user.id, orgId: user.orgId, email: user.email, role: user.role };
  const actor: Actor = { type: 'user', id: user.id, orgId: user.orgId, requestId };
  // The one moment the password is known: a hash of older parameters is made again with today's.
  const rehashed = needsRehash(user.passwordHash) ? await hashPassword(input.password) : undefined;
  return ok(
    await tenantWork(ctx, user.orgId, async (tx) => {
      if (rehashed) {
        // Conditional on the hash it replaces, so a password changed meanwhile is not undone.
        await tx
          .update(users)
          .set({ passwordHash: rehashed })
          .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash)));
      }
      await appendAudit(tx, actor, [{ action: 'user.logged_in', resourceType: 'user', resourceId: user.id, data: { ip: clientIp } }]);
      return issueTokens(ctx, view, newId('rtf'), tx);
    }),
  );
}

/**
 * A signed-in user replaces their password, proving the current one. Every refresh token of the
 * user is revoked (their other sign-ins end when their access tokens do, within the hour) and the
 * caller gets a new sign-in. Limited like sign-in, per account, against guessing the current one.
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
  await limitLogin(ctx, `account-id:${userId}`);
  const [user] = await tenantWork(ctx, actor.orgId, (tx) => tx.select().from(users).where(eq(users.id, userId)));
  if (!user || !(await verifyPassword(input.currentPassword, user.passwordHash))) {
    return err(new InvalidCredentials('The current password is not correct.'));
  }
  const passwordHash = await hashPassword(input.newPassword);
  const view = { id: user.id, orgId: user.orgId, email: user.email, role: user.role };
  const changed = await tenantWork(ctx, actor.orgId, async (tx) => {
    const [row] = await tx
      .update(users)
      .set({ passwordHash })
      .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash)))
      .returning({ id: users.id });
    // Another change won the race: this one proved a password that is no longer current.
    if (!row) return undefined;
    await tx
      .update(refreshTokens)
      .set({ revokedAt: new Date(ctx.clock.now()) })
      .where(and(eq(refreshTokens.userId, user.id), isNull(refreshTokens.revokedAt)));
    await appendAudit(tx, actor, [{ action: 'user.password_changed', resourceType: 'user', resourceId: user.id }]);
    return issueTokens(ctx, view, newId('rtf'), tx);
  });
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
    return issueTokens(ctx, { id: user.id, orgId: user.orgId, email: user.email, role: user.role }, row.familyId, tx);
  });
  return outcome ? ok(outcome) : err(new InvalidCredentials('The refresh token was already used; its whole family is now revoked.'));
}

/** Ends the refresh-token family of this token; access tokens run out within their hour. */
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
  input: { email: string; password: string; role: Role },
): Promise<Result<SignedIn['user'], InvalidInput>> {
  const email = normaliseEmail(input.email);
  if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 254) return err(new InvalidInput('email is not an email address', 'email'));
  const invalid = passwordProblem(input.password, 'password');
  if (invalid) return err(invalid);
  const passwordHash = await hashPassword(input.password);
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
