/**
 * API keys refuse every credential that should not get in, each with its own reason, in the
 * order exists → revoked → expired → environment → address; rotation grace periods end on time;
 * no key can mint a stronger one or reach another organization's keys.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { apiKeys, auditLogs } from '../../src/db/schema.ts';
import { authenticateApiKey } from '../../src/services/apiKeys/authentication.ts';
import { createApiKey, revokeApiKey, rotateApiKey, updateApiKey, type CreateApiKeyInput } from '../../src/services/apiKeys/management.ts';
import type { Actor, ServiceContext } from '../../src/services/context.ts';
import { SCOPES } from '../../src/services/principals.ts';
import { instanceServices, LIVE } from '../support/apiKeys.ts';
import { sleep, startApp } from '../support/harness.ts';
import { serve, viewerKind } from '../support/server.ts';
import { freshOrganization } from '../support/organizations.ts';

let app: App;
let services: ServiceContext;
beforeAll(async () => {
  app = await startApp();
  services = instanceServices(app);
});
afterAll(() => app.close());

async function created(actor: Actor, overrides: Partial<CreateApiKeyInput> = {}, ctx = services) {
  const result = await createApiKey(
    ctx,
    actor,
    { name: 'integration', environment: 'live', scopes: ['licenses:read'], ...overrides },
    SCOPES,
  );
  if (!result.ok) throw result.error;
  return result.value;
}

/** Sets columns the API will not set to a past time (expiry), on the connecting user. */
const force = (id: string, values: Partial<typeof apiKeys.$inferInsert>) =>
  app.services.db.update(apiKeys).set(values).where(eq(apiKeys.id, id));

async function refusal(secret: string, request = LIVE, ctx = services) {
  try {
    await authenticateApiKey(ctx, secret, request);
  } catch (error) {
    const e = error as { code?: string; extensions?: { reason?: string } };
    return `${e.code}/${e.extensions?.reason}`;
  }
  return 'accepted';
}

describe('API key authentication refuses', () => {
  it('a secret that was never issued, and anything not shaped like a key, as API_KEY_INVALID', async () => {
    const { secret } = await created(await freshOrganization(app));
    const forged = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
    expect(await refusal(forged)).toBe('UNAUTHENTICATED/API_KEY_INVALID');
    expect(await refusal('pk_live_short')).toBe('UNAUTHENTICATED/API_KEY_INVALID');
    expect(await refusal(`pk_prod_${secret.slice(8)}`)).toBe('UNAUTHENTICATED/API_KEY_INVALID');
  });

  it('a revoked key as API_KEY_REVOKED, at once on the instance that revoked it', async () => {
    const actor = await freshOrganization(app);
    const { apiKey, secret } = await created(actor);
    expect(await refusal(secret)).toBe('accepted'); // cached now
    await revokeApiKey(services, actor, apiKey.id, 'leaked');
    expect(await refusal(secret)).toBe('UNAUTHENTICATED/API_KEY_REVOKED');
  });

  it('an expired key as API_KEY_EXPIRED, at its expiry whatever the cache holds', async () => {
    const actor = await freshOrganization(app);
    const { secret } = await created(actor, { expiresAt: new Date(Date.now() + 400) });
    expect(await refusal(secret)).toBe('accepted');
    await sleep(450);
    expect(await refusal(secret)).toBe('UNAUTHENTICATED/API_KEY_EXPIRED');
  });

  it('a test key on a live server and a live key on a test server as API_KEY_WRONG_ENVIRONMENT', async () => {
    const actor = await freshOrganization(app);
    const test = await created(actor, { environment: 'test' });
    const live = await created(actor, { environment: 'live' });
    expect(await refusal(test.secret, { ...LIVE, serverEnvironment: 'live' })).toBe('UNAUTHENTICATED/API_KEY_WRONG_ENVIRONMENT');
    expect(await refusal(live.secret, { ...LIVE, serverEnvironment: 'test' })).toBe('UNAUTHENTICATED/API_KEY_WRONG_ENVIRONMENT');
    expect(await refusal(test.secret, { ...LIVE, serverEnvironment: 'test' })).toBe('accepted');
  });

  it('a request from outside the allowlist as FORBIDDEN / IP_NOT_ALLOWED, and an unknown address too', async () => {
    const { secret } = await created(await freshOrganization(app), { ipAllowlist: ['198.51.100.0/24', '2001:db8::/32'] });
    expect(await refusal(secret, { ...LIVE, clientIp: '198.51.101.1' })).toBe('FORBIDDEN/IP_NOT_ALLOWED');
    expect(await refusal(secret, { ...LIVE, clientIp: '2001:db9::1' })).toBe('FORBIDDEN/IP_NOT_ALLOWED');
    expect(await refusal(secret, { ...LIVE, clientIp: 'unknown' })).toBe('FORBIDDEN/IP_NOT_ALLOWED');
    expect(await refusal(secret, { ...LIVE, clientIp: '::ffff:198.51.100.4' })).toBe('accepted');
  });

  it('over real HTTP, the allowlist is checked against the socket peer', async () => {
    const actor = await freshOrganization(app);
    const environment = app.services.config.environment;
    const loopback = await created(actor, { environment, ipAllowlist: ['127.0.0.1/32'] });
    const elsewhere = await created(actor, { environment, ipAllowlist: ['10.0.0.0/8'] });
    const server = await serve(app);
    try {
      expect(await viewerKind(server.url, loopback.secret)).toBe('apiKey');
      expect(await viewerKind(server.url, elsewhere.secret)).toBe('IP_NOT_ALLOWED');
    } finally {
      await server.close();
    }
  });

  it('in order: revoked before expired before wrong environment before the address', async () => {
    const actor = await freshOrganization(app);
    const { apiKey, secret } = await created(actor, { environment: 'test', ipAllowlist: ['10.0.0.0/8'] });
    const outsider = { clientIp: '203.0.113.1', serverEnvironment: 'live' as const };
    expect(await refusal(secret, outsider)).toBe('UNAUTHENTICATED/API_KEY_WRONG_ENVIRONMENT');
    await force(apiKey.id, { expiresAt: new Date(Date.now() - 1000) });
    services.apiKeys.forget(apiKey.id);
    expect(await refusal(secret, outsider)).toBe('UNAUTHENTICATED/API_KEY_EXPIRED');
    await force(apiKey.id, { revokedAt: new Date(Date.now() - 1000) });
    services.apiKeys.forget(apiKey.id);
    expect(await refusal(secret, outsider)).toBe('UNAUTHENTICATED/API_KEY_REVOKED');
  });
});

describe('API key rotation', () => {
  it('with preserveKeyId keeps both secrets valid during the grace period and only the new one after it', async () => {
    const actor = await freshOrganization(app);
    const { apiKey, secret: oldSecret } = await created(actor);
    const rotated = await rotateApiKey(services, actor, apiKey.id, { preserveKeyId: true, gracePeriodSeconds: 1 });
    if (!rotated.ok) throw rotated.error;
    const newSecret = rotated.value.secret;
    expect(rotated.value.apiKey.id).toBe(apiKey.id);
    expect(await authenticateApiKey(services, oldSecret, LIVE)).toMatchObject({ keyId: apiKey.id });
    expect(await authenticateApiKey(services, newSecret, LIVE)).toMatchObject({ keyId: apiKey.id });
    await sleep(1100);
    expect(await refusal(oldSecret)).toBe('UNAUTHENTICATED/API_KEY_EXPIRED');
    expect(await refusal(newSecret)).toBe('accepted');
  });

  it('never lets the old secret outlive the key itself', async () => {
    const actor = await freshOrganization(app);
    const expiresAt = new Date(Date.now() + 60_000);
    const { apiKey } = await created(actor, { expiresAt });
    const rotated = await rotateApiKey(services, actor, apiKey.id, { preserveKeyId: true, gracePeriodSeconds: 3600 });
    expect(rotated.ok && rotated.value.apiKey.previousExpiresAt?.getTime()).toBe(expiresAt.getTime());
  });

  it('ends the previous secret of an earlier rotation at once when the key is rotated again', async () => {
    const actor = await freshOrganization(app);
    const { apiKey, secret: first } = await created(actor);
    const second = await rotateApiKey(services, actor, apiKey.id, { gracePeriodSeconds: 600 });
    const third = await rotateApiKey(services, actor, apiKey.id, { gracePeriodSeconds: 600 });
    if (!second.ok || !third.ok) throw new Error('rotation failed');
    expect(await refusal(first)).toBe('UNAUTHENTICATED/API_KEY_INVALID');
    expect(await refusal(second.value.secret)).toBe('accepted');
    expect(await refusal(third.value.secret)).toBe('accepted');
  });

  it('refuses a grace period beyond 7 days and rotating a revoked key', async () => {
    const actor = await freshOrganization(app);
    const { apiKey } = await created(actor);
    const tooLong = await rotateApiKey(services, actor, apiKey.id, { gracePeriodSeconds: 7 * 86_400 + 1 });
    expect(!tooLong.ok && tooLong.error).toMatchObject({ code: 'INVALID_INPUT', field: 'gracePeriodSeconds' });
    await revokeApiKey(services, actor, apiKey.id, null);
    const revoked = await rotateApiKey(services, actor, apiKey.id, {});
    expect(!revoked.ok && revoked.error).toMatchObject({ code: 'INVALID_INPUT', field: 'id' });
  });
});

describe('the lookup cache', () => {
  it('lets a revocation made through another instance take effect within the cache time', async () => {
    const actor = await freshOrganization(app);
    const here = instanceServices(app, { cacheMs: 300 });
    const there = instanceServices(app, { cacheMs: 300 });
    const { apiKey, secret } = await created(actor, {}, there);
    expect(await refusal(secret, LIVE, here)).toBe('accepted');
    await revokeApiKey(there, actor, apiKey.id, 'leaked');
    expect(await refusal(secret, LIVE, there)).toBe('UNAUTHENTICATED/API_KEY_REVOKED');
    await sleep(350);
    expect(await refusal(secret, LIVE, here)).toBe('UNAUTHENTICATED/API_KEY_REVOKED');
  });
});

describe('API key management', () => {
  it('refuses to grant a scope the caller does not hold, on create and on update', async () => {
    const actor = await freshOrganization(app);
    const holder = ['apikeys:write', 'licenses:read'] as const;
    const escalated = await createApiKey(services, actor, { name: 'x', environment: 'live', scopes: ['users:write'] }, holder);
    expect(!escalated.ok && escalated.error).toMatchObject({ code: 'INVALID_INPUT', field: 'scopes' });
    const { apiKey } = await created(actor);
    const widened = await updateApiKey(services, actor, apiKey.id, { scopes: ['licenses:read', 'audit:read'] }, holder);
    expect(!widened.ok && widened.error).toMatchObject({ code: 'INVALID_INPUT', field: 'scopes' });
  });

  it('treats another organization’s key like one that does not exist', async () => {
    const owner = await freshOrganization(app);
    const intruder = await freshOrganization(app);
    const { apiKey, secret } = await created(owner);
    const results = [
      await updateApiKey(services, intruder, apiKey.id, { name: 'mine now' }, SCOPES),
      await revokeApiKey(services, intruder, apiKey.id, 'mine now'),
      await rotateApiKey(services, intruder, apiKey.id, { preserveKeyId: true }),
    ];
    for (const r of results) expect(!r.ok && r.error.constructor.name).toBe('ApiKeyNotFound');
    expect(await refusal(secret)).toBe('accepted');
    const [row] = await app.services.db.select().from(apiKeys).where(eq(apiKeys.id, apiKey.id));
    expect(row).toMatchObject({ name: 'integration', revokedAt: null, secretHash: apiKey.secretHash });
  });

  it('never writes a secret or its hash to the audit log', async () => {
    const actor = await freshOrganization(app);
    const { apiKey, secret } = await created(actor);
    const rotated = await rotateApiKey(services, actor, apiKey.id, { preserveKeyId: false, gracePeriodSeconds: 60 });
    if (!rotated.ok) throw rotated.error;
    const rows = await app.services.db.select().from(auditLogs).where(eq(auditLogs.orgId, actor.orgId));
    const text = JSON.stringify(rows);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const leaked of [secret, rotated.value.secret, apiKey.secretHash, rotated.value.apiKey.secretHash])
      expect(text).not.toContain(leaked);
  });
});
