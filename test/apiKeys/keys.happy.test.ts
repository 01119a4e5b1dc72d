/** API keys: made, listed, changed, rotated and used as their owners expect. */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { apiKeys, auditLogs } from '../../src/db/schema.ts';
import { authenticateApiKey } from '../../src/services/apiKeys/authentication.ts';
import { hashApiKeySecret } from '../../src/services/apiKeys/secrets.ts';
import {
  createApiKey,
  listApiKeys,
  revokeApiKey,
  rotateApiKey,
  updateApiKey,
  type CreateApiKeyInput,
} from '../../src/services/apiKeys/management.ts';
import type { Actor, ServiceContext } from '../../src/services/context.ts';
import { SCOPES } from '../../src/services/principals.ts';
import { instanceServices, LIVE } from '../support/apiKeys.ts';
import { sleep, startApp } from '../support/harness.ts';
import { freshOrganization } from '../support/organizations.ts';

let app: App;
let services: ServiceContext;
beforeAll(async () => {
  app = await startApp();
  services = instanceServices(app);
});
afterAll(() => app.close());

const input = (overrides: Partial<CreateApiKeyInput> = {}): CreateApiKeyInput => ({
  name: 'CI deploys',
  environment: 'live',
  scopes: ['licenses:read', 'licenses:write'],
  ...overrides,
});

async function created(actor: Actor, overrides: Partial<CreateApiKeyInput> = {}) {
  const result = await createApiKey(services, actor, input(overrides), SCOPES);
  if (!result.ok) throw result.error;
  return result.value;
}

const actions = async (actor: Actor, resourceId: string) =>
  (
    await app.services.db
      .select({ action: auditLogs.action, data: auditLogs.data })
      .from(auditLogs)
      .where(and(eq(auditLogs.orgId, actor.orgId), eq(auditLogs.resourceId, resourceId)))
      .orderBy(auditLogs.seq)
  ).map((r) => r.action);

describe('creating API keys', () => {
  it('shows a pk_live_ secret of 43 URL-safe characters once, and stores only its SHA-256 and last 4 characters', async () => {
    const actor = await freshOrganization(app);
    const { apiKey, secret } = await created(actor);
    expect(secret).toMatch(/^pk_live_[A-Za-z0-9_-]{43}$/);
    const [row] = await app.services.db.select().from(apiKeys).where(eq(apiKeys.id, apiKey.id));
    expect(row!.secretHash).toBe(await hashApiKeySecret(secret));
    expect(row!.hint).toBe(secret.slice(-4));
    expect(JSON.stringify(row)).not.toContain(secret.slice(8));
    expect(apiKey).toMatchObject({ id: expect.stringMatching(/^key_/), orgId: actor.orgId, tier: 'standard', ipAllowlist: [] });
    expect(await actions(actor, apiKey.id)).toEqual(['apikey.created']);
  });

  it('makes pk_test_ keys for the test environment', async () => {
    const { secret } = await created(await freshOrganization(app), { environment: 'test' });
    expect(secret).toMatch(/^pk_test_[A-Za-z0-9_-]{43}$/);
  });

  it('keeps the allowlist in canonical form and the tier asked for', async () => {
    const { apiKey } = await created(await freshOrganization(app), { ipAllowlist: ['2001:DB8::/32', '203.0.113.9'], tier: 'pro' });
    expect(apiKey.ipAllowlist).toEqual(['2001:db8::/32', '203.0.113.9/32']);
    expect(apiKey.tier).toBe('pro');
  });

  it('answers typed InvalidInput for a bad name, scope, block, tier or expiry', async () => {
    const actor = await freshOrganization(app);
    const field = async (overrides: Partial<CreateApiKeyInput>) => {
      const result = await createApiKey(services, actor, input(overrides), SCOPES);
      return result.ok ? 'ok' : `${result.error.code}:${(result.error as { field?: string }).field}`;
    };
    expect(await field({ name: '  ' })).toBe('INVALID_INPUT:name');
    expect(await field({ scopes: [] })).toBe('INVALID_INPUT:scopes');
    expect(await field({ scopes: ['licenses:destroy'] })).toBe('INVALID_INPUT:scopes');
    expect(await field({ ipAllowlist: ['10.0.0.1/8'] })).toBe('INVALID_INPUT:ipAllowlist');
    expect(await field({ tier: 'platinum' })).toBe('INVALID_INPUT:tier');
    expect(await field({ expiresAt: new Date(Date.now() - 1000) })).toBe('INVALID_INPUT:expiresAt');
  });
});

describe('using API keys', () => {
  it('turns a secret into a principal of its organization with its scopes, tier and environment', async () => {
    const actor = await freshOrganization(app);
    const { apiKey, secret } = await created(actor, { tier: 'enterprise' });
    expect(await authenticateApiKey(services, secret, LIVE)).toEqual({
      kind: 'apiKey',
      orgId: actor.orgId,
      keyId: apiKey.id,
      secretHash: await hashApiKeySecret(secret),
      environment: 'live',
      tier: 'enterprise',
      scopes: ['licenses:read', 'licenses:write'],
    });
  });

  it('lets a key in from inside its allowlist, IPv4 and IPv6', async () => {
    const { secret } = await created(await freshOrganization(app), { ipAllowlist: ['198.51.100.0/24', '2001:db8::/32'] });
    await expect(authenticateApiKey(services, secret, { ...LIVE, clientIp: '198.51.100.77' })).resolves.toMatchObject({ kind: 'apiKey' });
    await expect(authenticateApiKey(services, secret, { ...LIVE, clientIp: '2001:db8:1::5' })).resolves.toMatchObject({ kind: 'apiKey' });
  });

  it('writes lastUsedAt in batches, not on every request', async () => {
    const { apiKey, secret } = await created(await freshOrganization(app));
    const lastUsed = async () => (await app.services.db.select().from(apiKeys).where(eq(apiKeys.id, apiKey.id)))[0]!.lastUsedAt;
    for (let i = 0; i < 5; i++) await authenticateApiKey(services, secret, LIVE);
    expect(await lastUsed()).toBeNull();
    expect(services.apiKeys.lastUsed.size).toBeGreaterThanOrEqual(1);
    await services.apiKeys.lastUsed.flush();
    const at = await lastUsed();
    expect(at).toBeInstanceOf(Date);
    expect(Date.now() - at!.getTime()).toBeLessThan(5000);
  });
});

describe('managing API keys', () => {
  it('lists the organization’s keys newest first, revoked ones included', async () => {
    const actor = await freshOrganization(app);
    const first = await created(actor, { name: 'first' });
    await sleep(5);
    const second = await created(actor, { name: 'second' });
    await revokeApiKey(services, actor, first.apiKey.id, 'not needed');
    const listed = await listApiKeys(services, actor.orgId);
    expect(listed.map((k) => k.name)).toEqual(['second', 'first']);
    expect(listed[1]!.revokedAt).toBeInstanceOf(Date);
    expect(listed[0]!.id).toBe(second.apiKey.id);
  });

  it('changes name, scopes, allowlist and tier, audits it, and the new scopes apply at once', async () => {
    const actor = await freshOrganization(app);
    const { apiKey, secret } = await created(actor);
    await authenticateApiKey(services, secret, LIVE); // now cached
    const updated = await updateApiKey(
      services,
      actor,
      apiKey.id,
      { name: 'Read only', scopes: ['licenses:read'], ipAllowlist: ['203.0.113.0/24'], tier: 'pro' },
      SCOPES,
    );
    expect(updated.ok && updated.value).toMatchObject({
      name: 'Read only',
      scopes: ['licenses:read'],
      ipAllowlist: ['203.0.113.0/24'],
      tier: 'pro',
    });
    expect(await authenticateApiKey(services, secret, LIVE)).toMatchObject({ scopes: ['licenses:read'], tier: 'pro' });
    expect(await actions(actor, apiKey.id)).toEqual(['apikey.created', 'apikey.updated']);
  });

  it('lifts the address restriction with an empty allowlist and keeps fields left out', async () => {
    const actor = await freshOrganization(app);
    const { apiKey } = await created(actor, { ipAllowlist: ['10.0.0.0/8'] });
    const updated = await updateApiKey(services, actor, apiKey.id, { ipAllowlist: [] }, SCOPES);
    expect(updated.ok && updated.value).toMatchObject({ ipAllowlist: [], name: 'CI deploys', scopes: ['licenses:read', 'licenses:write'] });
  });

  it('revokes with a reason, audited', async () => {
    const actor = await freshOrganization(app);
    const { apiKey } = await created(actor);
    const revoked = await revokeApiKey(services, actor, apiKey.id, 'left the company');
    expect(revoked.ok && revoked.value).toMatchObject({ revokeReason: 'left the company', revokedAt: expect.any(Date) });
    expect(await actions(actor, apiKey.id)).toEqual(['apikey.created', 'apikey.revoked']);
  });

  it('rotates in place: same id, new secret and hint, the old secret refused at once without a grace period', async () => {
    const actor = await freshOrganization(app);
    const { apiKey, secret } = await created(actor);
    const rotated = await rotateApiKey(services, actor, apiKey.id, { preserveKeyId: true });
    if (!rotated.ok) throw rotated.error;
    expect(rotated.value.apiKey.id).toBe(apiKey.id);
    expect(rotated.value.secret).not.toBe(secret);
    expect(rotated.value.apiKey.hint).toBe(rotated.value.secret.slice(-4));
    await expect(authenticateApiKey(services, rotated.value.secret, LIVE)).resolves.toMatchObject({ keyId: apiKey.id });
    await expect(authenticateApiKey(services, secret, LIVE)).rejects.toMatchObject({ extensions: { reason: 'API_KEY_INVALID' } });
    expect(await actions(actor, apiKey.id)).toEqual(['apikey.created', 'apikey.rotated']);
  });

  it('rotates to a new key with the same settings, and revokes the old key when its grace period ends', async () => {
    const actor = await freshOrganization(app);
    const { apiKey, secret } = await created(actor, { ipAllowlist: ['203.0.113.0/24'], tier: 'pro', scopes: ['audit:read'] });
    const rotated = await rotateApiKey(services, actor, apiKey.id, { preserveKeyId: false, gracePeriodSeconds: 1 });
    if (!rotated.ok) throw rotated.error;
    const replacement = rotated.value.apiKey;
    expect(replacement.id).not.toBe(apiKey.id);
    expect(replacement).toMatchObject({ name: apiKey.name, scopes: ['audit:read'], ipAllowlist: ['203.0.113.0/24'], tier: 'pro' });
    await expect(authenticateApiKey(services, rotated.value.secret, LIVE)).resolves.toMatchObject({ keyId: replacement.id });
    await expect(authenticateApiKey(services, secret, LIVE)).resolves.toMatchObject({ keyId: apiKey.id });
    await sleep(1100);
    await expect(authenticateApiKey(services, secret, LIVE)).rejects.toMatchObject({ extensions: { reason: 'API_KEY_REVOKED' } });
    await expect(authenticateApiKey(services, rotated.value.secret, LIVE)).resolves.toMatchObject({ keyId: replacement.id });
    expect(await actions(actor, apiKey.id)).toEqual(['apikey.created', 'apikey.rotated']);
    expect(await actions(actor, replacement.id)).toEqual(['apikey.created']);
  });
});
