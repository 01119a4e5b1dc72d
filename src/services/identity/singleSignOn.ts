/**
 * Single sign-on: a dashboard user proves who they are with an ID token of a configured OpenID
 * Connect provider (pasted, or got by the console's authorization-code flow and swapped here),
 * and gets the same sign-in session as `login` gives. The user is found by the token's issuer
 * and subject, recorded in user_identities, never by email alone: an issuer may hand an email
 * to someone else later. The provider's settings decide the organization (from a claim, or one
 * for the whole issuer), and whether a first sign-in links to the organization's user of the
 * same verified email or makes a user of a given role.
 */
import { and, eq } from 'drizzle-orm';
import type { IdentityProvider } from '../../config/identityProviders.ts';
import { organizations, userIdentities, users } from '../../db/schema.ts';
import type { UserRow } from '../../db/rows.ts';
import { newId } from '../../lib/ids.ts';
import { appendAudit } from '../audit/auditLog.ts';
import type { ServiceContext, VerifiedIdToken } from '../context.ts';
import { databaseWork, tenantWork } from '../database.ts';
import {
  AccountNotProvisioned,
  err,
  IdTokenInvalid,
  InvalidInput,
  ok,
  OrganizationUnknown,
  type Result,
} from '../errors.ts';
import { actorOf, isEmailAddress, limitSignInFromAddress, normaliseEmail, startSignIn, viewOf, type SignedIn } from './signIn.ts';

export type SingleSignOnError = IdTokenInvalid | OrganizationUnknown | AccountNotProvisioned;

/** A claim by dotted path (`firebase.tenant`, `https://example.com/org`: a path segment of its own when no dot leads to it). */
function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let value: unknown = claims;
  for (const part of path.split('.')) {
    if (!value || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The organization the token belongs to, or why none. */
function organizationOf(provider: IdentityProvider, claims: Record<string, unknown>): Result<string, OrganizationUnknown> {
  const mapping = provider.organization;
  if (mapping.kind === 'fixed') return ok(mapping.orgId);
  const value = claimAt(claims, mapping.claim);
  const values = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  const mapped = new Set(values.filter((v) => Object.hasOwn(mapping.map, v)).map((v) => mapping.map[v]!));
  if (mapped.size === 1) return ok([...mapped][0]!);
  if (mapped.size > 1) {
    return err(new OrganizationUnknown(`The ID token's "${mapping.claim}" claim names several organizations; it must name one.`));
  }
  return err(new OrganizationUnknown(`The ID token's "${mapping.claim}" claim names no organization ${provider.name} signs in to.`));
}

const emailVerified = (claims: Record<string, unknown>) => claims.email_verified === true || claims.email_verified === 'true';

/** The token's email when its provider's rules accept it (undefined when it has none and none is required yet). */
function emailOf(provider: IdentityProvider, claims: Record<string, unknown>): Result<string | undefined, IdTokenInvalid> {
  const raw = claimAt(claims, provider.emailClaim);
  if (raw === undefined && provider.emailDomains.length === 0) return ok(undefined);
  if (typeof raw !== 'string' || !isEmailAddress(raw)) {
    return err(new IdTokenInvalid('CLAIM_MISSING', `The ID token's "${provider.emailClaim}" claim is not an email address.`));
  }
  const email = normaliseEmail(raw);
  if (provider.requireVerifiedEmail && !emailVerified(claims)) {
    return err(new IdTokenInvalid('EMAIL_NOT_VERIFIED', `${provider.name} has not verified this email address.`));
  }
  const domain = email.slice(email.lastIndexOf('@') + 1);
  if (provider.emailDomains.length > 0 && !provider.emailDomains.includes(domain)) {
    return err(new IdTokenInvalid('EMAIL_DOMAIN_NOT_ALLOWED', `Sign-in through ${provider.name} is open only to addresses at ${provider.emailDomains.join(', ')}.`));
  }
  return ok(email);
}

type Resolution = { user: UserRow; linked?: 'linked' | 'created' } | { refusal: SingleSignOnError } | 'raced';

/** The user the identity is linked to, or links or makes one as the provider allows; 'raced' when a concurrent first sign-in won. */
async function resolveUser(
  ctx: ServiceContext,
  verified: VerifiedIdToken,
  orgId: string,
  email: string | undefined,
  requestId: string,
): Promise<Resolution> {
  const { provider, subject, claims } = verified;
  // Across organizations by nature, as login's look-up by email: the organization is what is being found.
  const [link] = await databaseWork(() =>
    ctx.db
      .select({ user: users })
      .from(userIdentities)
      .innerJoin(users, eq(users.id, userIdentities.userId))
      .where(and(eq(userIdentities.issuer, provider.issuer), eq(userIdentities.subject, subject))),
  );
  if (link) {
    // Moved to another organization at the provider: the old account is not the new one's.
    if (link.user.orgId !== orgId) return { refusal: new OrganizationUnknown('This sign-in is linked to an account of another organization than its token names.') };
    return { user: link.user };
  }
  if (!email) return { refusal: new AccountNotProvisioned(`No account is linked to this ${provider.name} sign-in, and its token carries no email to make one with.`) };

  const [org] = await databaseWork(() => ctx.db.select({ id: organizations.id }).from(organizations).where(eq(organizations.id, orgId)));
  if (!org) {
    ctx.log.warn('OIDC_PROVIDERS maps a token to an organization that does not exist', { provider: provider.id, orgId, requestId });
    return { refusal: new OrganizationUnknown(`The organization ${provider.name} maps this sign-in to does not exist on this server.`) };
  }
  const [existing] = await databaseWork(() => ctx.db.select().from(users).where(eq(users.email, email)));
  const identity = { id: newId('uid'), orgId, issuer: provider.issuer, subject, email };
  if (existing) {
    // Linking hands the account to whoever the issuer says owns the address: only a verified one, whatever requireVerifiedEmail says.
    if (!provider.linkByEmail || existing.orgId !== orgId || !emailVerified(claims)) {
      return {
        refusal: new AccountNotProvisioned(
          `An account with this email exists, and ${provider.name} is not set to link a first sign-in to it; ask an owner to link it.`,
        ),
      };
    }
    const linked = await tenantWork(ctx, orgId, async (tx) => {
      const [row] = await tx.insert(userIdentities).values({ ...identity, userId: existing.id }).onConflictDoNothing().returning();
      if (!row) return false;
      await appendAudit(tx, actorOf(existing, requestId), [
        { action: 'user.identity_linked', resourceType: 'user', resourceId: existing.id, data: { issuer: provider.issuer, subject } },
      ]);
      return true;
    });
    return linked ? { user: existing, linked: 'linked' } : 'raced';
  }
  if (!provider.newUserRole) {
    return { refusal: new AccountNotProvisioned(`No account is linked to this ${provider.name} sign-in; ask an owner of your organization to add you.`) };
  }
  const role = provider.newUserRole;
  const created = await tenantWork(ctx, orgId, async (tx) => {
    const [user] = await tx.insert(users).values({ id: newId('usr'), orgId, email, passwordHash: null, role }).onConflictDoNothing().returning();
    // The email was taken meanwhile (by this same identity's concurrent first sign-in, most likely).
    if (!user) return undefined;
    const [row] = await tx.insert(userIdentities).values({ ...identity, userId: user.id }).onConflictDoNothing().returning();
    if (!row) {
      // The same subject linked meanwhile under another email: the user made here goes again.
      await tx.delete(users).where(eq(users.id, user.id));
      return undefined;
    }
    await appendAudit(tx, actorOf(user, requestId), [
      { action: 'user.created', resourceType: 'user', resourceId: user.id, data: { role, issuer: provider.issuer, subject } },
    ]);
    return user;
  });
  return created ? { user: created, linked: 'created' } : 'raced';
}

async function signInVerified(
  ctx: ServiceContext,
  verified: VerifiedIdToken,
  clientIp: string,
  requestId: string,
): Promise<Result<SignedIn, SingleSignOnError>> {
  const { provider, subject, claims } = verified;
  const email = emailOf(provider, claims);
  if (!email.ok) return email;
  const orgId = organizationOf(provider, claims);
  if (!orgId.ok) return orgId;
  let resolved = await resolveUser(ctx, verified, orgId.value, email.value, requestId);
  // A concurrent first sign-in of the same identity won: its link is there now.
  if (resolved === 'raced') resolved = await resolveUser(ctx, verified, orgId.value, email.value, requestId);
  if (resolved === 'raced') throw new Error('single sign-on lost the race for a new identity twice');
  if ('refusal' in resolved) {
    ctx.log.info('single sign-on refused', { provider: provider.id, code: resolved.refusal.code, ip: clientIp, requestId });
    return err(resolved.refusal);
  }
  const { user } = resolved;
  const signedIn = await startSignIn(ctx, viewOf(user), async (tx) => {
    await tx
      .update(userIdentities)
      .set({ lastSignInAt: new Date(ctx.clock.now()), email: email.value ?? null })
      .where(and(eq(userIdentities.issuer, provider.issuer), eq(userIdentities.subject, subject)));
    await appendAudit(tx, actorOf(user, requestId), [
      { action: 'user.logged_in', resourceType: 'user', resourceId: user.id, data: { ip: clientIp, provider: provider.id } },
    ]);
  });
  return ok(signedIn);
}

/** Signs in with an ID token of a configured provider, as `login` does with a password. */
export async function signInWithIdToken(
  ctx: ServiceContext,
  input: { idToken: string },
  clientIp: string,
  requestId: string,
): Promise<Result<SignedIn, SingleSignOnError>> {
  await limitSignInFromAddress(ctx, clientIp);
  const verified = await ctx.identityProviders.verify(input.idToken.trim());
  if (!verified.ok) {
    ctx.log.info('single sign-on refused', { reason: verified.error.reason, ip: clientIp, requestId });
    return verified;
  }
  return signInVerified(ctx, verified.value, clientIp, requestId);
}

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/**
 * The console's redirect flow, finished: the authorization code it was sent back with and the
 * PKCE verifier only it knows are swapped at the provider's token endpoint, and the ID token
 * that answers (bound to the console's nonce) signs in as `signInWithIdToken` does.
 */
export async function signInWithAuthorizationCode(
  ctx: ServiceContext,
  input: { provider: string; code: string; codeVerifier: string; redirectUri: string; nonce: string },
  clientIp: string,
  requestId: string,
): Promise<Result<SignedIn, SingleSignOnError | InvalidInput>> {
  const provider = ctx.config.identityProviders.find((p) => p.id === input.provider && p.console);
  if (!provider) return err(new InvalidInput('provider names no provider with a console sign-in', 'provider'));
  if (input.code.length === 0 || input.code.length > 4096) return err(new InvalidInput('code is not an authorization code', 'code'));
  if (!CODE_VERIFIER.test(input.codeVerifier)) return err(new InvalidInput('codeVerifier must be 43 to 128 unreserved characters', 'codeVerifier'));
  if (input.nonce.length < 16 || input.nonce.length > 256) return err(new InvalidInput('nonce must be 16 to 256 characters', 'nonce'));
  let redirect: URL | undefined;
  try {
    redirect = input.redirectUri.length <= 2048 ? new URL(input.redirectUri) : undefined;
  } catch {}
  if (!redirect || !['http:', 'https:'].includes(redirect.protocol)) return err(new InvalidInput('redirectUri is not an http(s) URL', 'redirectUri'));
  await limitSignInFromAddress(ctx, clientIp);
  const exchanged = await ctx.identityProviders.exchangeCode(provider, input);
  const verified = exchanged.ok ? await ctx.identityProviders.verify(exchanged.value, { provider, nonce: input.nonce }) : exchanged;
  if (!verified.ok) {
    ctx.log.info('single sign-on refused', { provider: provider.id, reason: verified.error.reason, ip: clientIp, requestId });
    return verified;
  }
  return signInVerified(ctx, verified.value, clientIp, requestId);
}

/**
 * The providers the sign-in page offers. Where a redirect flow starts is asked of the provider
 * (its discovery document) only when the page selects it, so one issuer being down leaves the
 * others and the pasted-token path working.
 */
export function signInProviders(ctx: ServiceContext) {
  return ctx.config.identityProviders.map((provider) => ({
    id: provider.id,
    name: provider.name,
    issuer: provider.issuer,
    redirect: provider.console && {
      clientId: provider.console.clientId,
      scopes: provider.console.scopes,
      authorizationEndpoint: () => ctx.identityProviders.authorizationEndpoint(provider),
    },
  }));
}
