/**
 * The first start of an empty database makes an organization, its owner and an admin API key,
 * so a new operator can work at once; `npm run cli -- bootstrap` makes another on demand. The
 * owner's password and the key are returned once, for the caller to show, and stored hashed.
 */
import { asc, sql } from 'drizzle-orm';
import { organizations } from '../../db/schema.ts';
import { createApiKey } from '../apiKeys/management.ts';
import type { Actor, ServiceContext } from '../context.ts';
import { createOrganization, createUser } from './signIn.ts';
import { newId } from '../../lib/ids.ts';
import { SCOPES } from '../principals.ts';
import { base64url } from '../../lib/encoding.ts';
import { hashPassword } from './passwords.ts';

export interface Bootstrapped {
  orgId: string;
  ownerEmail: string;
  ownerPassword: string;
  apiKey: string;
}

/** Serialises the empty-database check when several instances start at once. */
const BOOTSTRAP_LOCK = 7_243_912;

/**
 * A new owner's password, with its hash under way on libuv's threadpool (scrypt takes about a
 * quarter of a second): started when the database is found new, it is ready by the time the
 * database is (app.ts), instead of adding its time to the first start.
 */
export interface OwnerPassword {
  password: string;
  hash: Promise<string>;
}

export function newOwnerPassword(): OwnerPassword {
  const password = base64url(crypto.getRandomValues(new Uint8Array(18)));
  const hash = hashPassword(password);
  // Started ahead, it may find no use (another instance made the organization first): its failure then is nobody's.
  hash.catch(() => {});
  return { password, hash };
}

export async function bootstrapOrganization(ctx: ServiceContext, options: { name: string; ownerEmail: string }): Promise<Bootstrapped> {
  const orgId = await createOrganization(ctx, options.name);
  return populate(ctx, orgId, options.ownerEmail, newOwnerPassword());
}

async function populate(ctx: ServiceContext, orgId: string, ownerEmail: string, ownerPassword: OwnerPassword): Promise<Bootstrapped> {
  const actor: Actor = { type: 'system', id: 'bootstrap', orgId, requestId: null };
  const owner = await createUser(ctx, actor, {
    email: ownerEmail,
    password: ownerPassword.password,
    passwordHash: ownerPassword.hash,
    role: 'owner',
  });
  if (!owner.ok) throw owner.error;
  const key = await createApiKey(
    ctx,
    actor,
    {
      name: 'Bootstrap admin key',
      environment: ctx.config.environment,
      scopes: [...SCOPES],
      ipAllowlist: [],
      tier: 'standard',
      expiresAt: null,
    },
    SCOPES,
  );
  if (!key.ok) throw key.error;
  return { orgId, ownerEmail: owner.value.email, ownerPassword: ownerPassword.password, apiKey: key.value.secret };
}

/**
 * The organization the operator's root token acts on: the first one. On an empty database it
 * is created, with its owner (given `ownerPassword`, or a new one) and key (returned as
 * `bootstrapped`, only then).
 */
export async function ensureFirstOrganization(
  ctx: ServiceContext,
  ownerEmail: string,
  ownerPassword?: OwnerPassword,
): Promise<{ orgId: string; bootstrapped?: Bootstrapped }> {
  const created = await ctx.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`);
    const [first] = await tx.select({ id: organizations.id }).from(organizations).orderBy(asc(organizations.createdAt)).limit(1);
    if (first) return { orgId: first.id, isNew: false };
    const [org] = await tx
      .insert(organizations)
      .values({ id: newId('org'), name: 'Default organization' })
      .returning();
    return { orgId: org!.id, isNew: true };
  });
  if (!created.isNew) return { orgId: created.orgId };
  return { orgId: created.orgId, bootstrapped: await populate(ctx, created.orgId, ownerEmail, ownerPassword ?? newOwnerPassword()) };
}
