/**
 * Webhook secrets at rest: each sealed under a data key that the local key or Cloud KMS wraps
 * (the real @google-cloud/kms client against the fake KMS), the wrapping key's id stored with
 * the ciphertext. Both keys rotate: endpoints sealed under an older key keep delivering signed
 * attempts, `npm run cli -- rewrap` moves every ciphertext to the current key, after which the
 * old keys can go. Someone who can write the database cannot swap an endpoint's current and
 * retired secrets, move a ciphertext to another endpoint or stretch an overlap: the attempt
 * fails with a delivery error that says so. A database of its own, since rewrap reads every row.
 */
import { createCipheriv, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { webhookDeliveries, webhookEndpoints } from '../../src/db/schema.ts';
import { SecretUnsealError } from '../../src/services/encryption/envelope.ts';
import { createKmsKeyWrapper } from '../../src/services/kms/keyWrapper.ts';
import { rewrapWebhookSecrets } from '../../src/services/webhooks/rewrap.ts';
import { openEndpointSecret } from '../../src/services/webhooks/secrets.ts';
import { startWebhookWorker, type WebhookWorker } from '../../src/services/webhooks/worker.ts';
import { startFakeKms, type FakeKms } from '../support/fakeKms.ts';
import { ADMIN_TOKEN, DATABASE_URL, REDIS_URL, gql, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { runToExit } from '../support/process.ts';
import {
  attemptsOf,
  createEndpoint,
  createLicenseAs,
  startReceiver,
  verifiesStandardWebhook,
  verifiesXWebhookSignature,
  waitForStatus,
  type Receiver,
  type ReceivedRequest,
} from '../support/webhooks.ts';

const CRYPTO_KEY = 'projects/leasehold-test/locations/global/keyRings/leasehold/cryptoKeys/webhook-secrets';
const KMS_V1 = `${CRYPTO_KEY}/cryptoKeyVersions/1`;
const KMS_V2 = `${CRYPTO_KEY}/cryptoKeyVersions/2`;
const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const ROTATE = `mutation($id: ID!) { rotateWebhookSecret(input: { id: $id, overlapSeconds: 3600 }) {
  __typename ... on WebhookSecretRotated { secret } ... on Error { code message } } }`;

let fake: FakeKms;
let receiver: Receiver;
let databaseUrl: string;
let dataDir: string;
const dbName = `leasehold_secrets_at_rest_${process.pid}`;
const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
const apps: App[] = [];
const workers: WebhookWorker[] = [];
/** One access-token key for every app here, so one owner's token works on each. */
const accessTokenKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const LOCAL_1 = { WEBHOOK_SECRET_KEY: K1 };
const LOCAL_2 = { WEBHOOK_SECRET_KEY: K2, WEBHOOK_SECRET_KEY_VERSION: '2', WEBHOOK_SECRET_KEY_1: K1 };
const kms = () => ({ ...LOCAL_2, KMS_ENCRYPTION_KEY: CRYPTO_KEY, KMS_ENDPOINT: fake.endpoint });
/** After rewrap: only KMS, no local key at all. */
const kmsOnly = () => ({ WEBHOOK_SECRET_KEY: '', KMS_ENCRYPTION_KEY: CRYPTO_KEY, KMS_ENDPOINT: fake.endpoint });

async function app(env: Record<string, string>) {
  const started = await startApp({
    DATABASE_URL: databaseUrl,
    ACCESS_TOKEN_KEY_PEM: accessTokenKey,
    WEBHOOK_POLL_MS: '20',
    WEBHOOK_MAX_ATTEMPTS: '1',
    ...env,
  });
  apps.push(started);
  return started;
}

function worker(on: App, orgId: string) {
  const started = startWebhookWorker(on.services, { organizationId: orgId });
  workers.push(started);
  return started;
}

/** What the server wrote before envelopes: AES-256-GCM directly under the local key, bound to the endpoint's id only. */
function sealedAsV1(key: string, endpointId: string, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(key, 'base64'), iv);
  cipher.setAAD(Buffer.from(endpointId));
  const sealed = Buffer.concat([cipher.update(secret), cipher.final(), cipher.getAuthTag()]);
  return `v1.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
}

async function ciphertexts(on: App, id: string) {
  const [row] = await on.services.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  return row!;
}

/** The endpoints' secrets each request verifies with: every endpoint must be heard, each signature checked both ways. */
function verifiedSecrets(requests: ReceivedRequest[], secrets: string[]): Set<string> {
  const verified = new Set<string>();
  for (const request of requests) {
    for (const secret of secrets) {
      if (verifiesXWebhookSignature(secret, request) && verifiesStandardWebhook(secret, request)) verified.add(secret);
    }
  }
  return verified;
}

beforeAll(async () => {
  fake = await startFakeKms([{ name: KMS_V1, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' }]);
  receiver = await startReceiver();
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin.unsafe(`create database ${dbName}`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${dbName}`;
  databaseUrl = url.toString();
  dataDir = await mkdtemp(join(tmpdir(), 'leasehold-rewrap-'));
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await Promise.all(apps.map((a) => a.close()));
  await receiver?.close();
  await fake?.close();
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin.end();
  await rm(dataDir, { recursive: true, force: true });
});

let owner: Awaited<ReturnType<typeof seedOrganization>>;
/** Named by the key that sealed each (kms1Previous: kms1's secret before its rotation). */
const endpoints = {} as Record<'v1' | 'local1' | 'local2' | 'kms1' | 'kms2' | 'kms1Previous', { id: string; secret: string }>;
const hook = (on: App) => createEndpoint(on, owner.token, { url: receiver.url, eventTypes: ['license.created'] });

describe('webhook secrets at rest, as keys rotate', () => {
  it('keep delivering signed attempts from endpoints sealed before envelopes and under the replaced local key', async () => {
    const before = await app(LOCAL_1);
    owner = await seedOrganization(before);
    endpoints.v1 = await hook(before);
    await before.services.db
      .update(webhookEndpoints)
      .set({ secretCiphertext: sealedAsV1(K1, endpoints.v1.id, endpoints.v1.secret) })
      .where(eq(webhookEndpoints.id, endpoints.v1.id));
    endpoints.local1 = await hook(before);
    expect((await ciphertexts(before, endpoints.local1.id)).secretCiphertext).toMatch(/^v2\.local:1\.[\w-]+\.[\w-]+\.[\w-]+$/);

    // WEBHOOK_SECRET_KEY rotated: version 2 wraps, version 1 still unwraps.
    const rotated = await app(LOCAL_2);
    endpoints.local2 = await hook(rotated);
    expect((await ciphertexts(rotated, endpoints.local2.id)).secretCiphertext).toMatch(/^v2\.local:2\./);
    worker(rotated, owner.orgId);
    receiver.requests.length = 0;
    await createLicenseAs(rotated, owner.token);
    const secrets = Object.values(endpoints).map((e) => e.secret);
    expect(verifiedSecrets(await receiver.until(3), secrets)).toEqual(new Set(secrets));
    await workers.pop()!.stop();
  });

  it('wrap data keys with Cloud KMS, and after its primary version rotates every endpoint still delivers, each data key unwrapped once', async () => {
    const withKms = await app(kms());
    endpoints.kms1 = await hook(withKms);
    expect((await ciphertexts(withKms, endpoints.kms1.id)).secretCiphertext.startsWith(`v2.${KMS_V1}.`)).toBe(true);

    fake.rotate(KMS_V2);
    const afterKmsRotation = await app(kms());
    endpoints.kms2 = await hook(afterKmsRotation);
    expect((await ciphertexts(afterKmsRotation, endpoints.kms2.id)).secretCiphertext.startsWith(`v2.${KMS_V2}.`)).toBe(true);

    worker(afterKmsRotation, owner.orgId);
    const decryptsBefore = fake.decryptCount;
    receiver.requests.length = 0;
    await createLicenseAs(afterKmsRotation, owner.token);
    await createLicenseAs(afterKmsRotation, owner.token);
    const secrets = Object.values(endpoints).map((e) => e.secret);
    expect(verifiedSecrets(await receiver.until(2 * secrets.length), secrets)).toEqual(new Set(secrets));
    // Ten attempts; the one data key this instance did not make itself (kms1's) was unwrapped once.
    expect(fake.decryptCount - decryptsBefore).toBe(1);
    await workers.pop()!.stop();
  });

  it('move every ciphertext to the current key with `npm run cli -- rewrap`, which prints counts and no secret, and changes nothing the second time', async () => {
    // An overlap, so a previous secret is stored too: two ciphertexts under KMS version 1.
    const withKms = apps.at(-2)!;
    const rotatedSecret = await gql(withKms, ROTATE, { id: endpoints.kms1.id }, owner.token);
    expect(rotatedSecret.data?.rotateWebhookSecret.__typename).toBe('WebhookSecretRotated');
    endpoints.kms1Previous = endpoints.kms1;
    endpoints.kms1 = { id: endpoints.kms1.id, secret: rotatedSecret.data!.rotateWebhookSecret.secret };

    const env = {
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      DATA_DIR: dataDir,
      LEASEHOLD_ADMIN_TOKEN: ADMIN_TOKEN,
      LICENSE_KEY_SECRET: 'test-license-key-secret-0123456789',
      ACCESS_TOKEN_KEY_PEM: accessTokenKey,
      ...kms(),
    };
    const first = await runToExit(['node', 'dist/runtime/cli.js', 'rewrap', '--batch', '2'], env);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain(`current key ${KMS_V2}`);
    expect(first.output).toContain(`re-encrypted:      1 from local:1, 1 from local:2, 2 from ${KMS_V1}, 1 from v1\n`);
    expect(first.output).toMatch(/already current: +1\n/);
    expect(first.output).toMatch(/failed: +0/);
    for (const { secret } of Object.values(endpoints)) expect(first.output).not.toContain(secret.slice('whsec_'.length, 16));
    expect(first.output).not.toContain(K1.slice(0, 12));

    const rows = await withKms.services.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.orgId, owner.orgId));
    const stored = rows.flatMap((r) => [r.secretCiphertext, r.previousSecretCiphertext].filter((c): c is string => c !== null));
    expect(stored).toHaveLength(6);
    for (const sealed of stored) expect(sealed.startsWith(`v2.${KMS_V2}.`)).toBe(true);

    const second = await runToExit(['node', 'dist/runtime/cli.js', 'rewrap'], env);
    expect(second.code, second.output).toBe(0);
    expect(second.output).toMatch(/re-encrypted: +none\n +already current: +6\n/);

    // The local keys and KMS version 1's ciphertexts are gone from the database: an instance with KMS alone delivers to all.
    const kmsAlone = await app(kmsOnly());
    worker(kmsAlone, owner.orgId);
    receiver.requests.length = 0;
    await createLicenseAs(kmsAlone, owner.token);
    const requests = await receiver.until(5);
    const secrets = Object.values(endpoints).map((e) => e.secret);
    expect(verifiedSecrets(requests, secrets)).toEqual(new Set(secrets));
    await workers.pop()!.stop();
  });
});

describe('a database writer moving ciphertexts', () => {
  /** Sends one license.created and answers the endpoint's delivery of it once it is settled. */
  async function deliveryTo(on: App, endpointId: string) {
    await on.services.db.delete(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId));
    await createLicenseAs(on, owner.token);
    return waitForStatus(on, endpointId, ['DELIVERED', 'DEAD'], { eventType: 'license.created' });
  }

  it('cannot swap the current and retired secret, move one to another endpoint, or stretch an overlap: the attempt fails saying so', async () => {
    const on = await app(kmsOnly());
    worker(on, owner.orgId);
    const { id } = endpoints.kms1;
    const row = await ciphertexts(on, id);
    const set = (endpointId: string, values: Partial<typeof row>) =>
      on.services.db
        .update(webhookEndpoints)
        .set(values)
        .where(and(eq(webhookEndpoints.id, endpointId)));

    await set(id, { secretCiphertext: row.previousSecretCiphertext!, previousSecretCiphertext: row.secretCiphertext });
    const swapped = await deliveryTo(on, id);
    expect(swapped.status).toBe('DEAD');
    const [attempt] = await attemptsOf(on, swapped.id);
    expect(attempt!.error).toBe(
      "not sent: the endpoint's signing secret does not decrypt here: altered, or moved from another endpoint or slot",
    );
    expect(attempt!.statusCode).toBeNull();

    await set(id, { secretCiphertext: row.secretCiphertext, previousSecretCiphertext: row.previousSecretCiphertext });
    await set(id, { previousSecretExpiresAt: new Date(row.previousSecretExpiresAt!.getTime() + 86_400_000) });
    const stretched = await deliveryTo(on, id);
    expect(stretched.status).toBe('DEAD');
    expect((await attemptsOf(on, stretched.id))[0]!.error).toContain('does not decrypt here');

    await set(id, { previousSecretExpiresAt: row.previousSecretExpiresAt });
    const restored = await deliveryTo(on, id);
    expect(restored.status).toBe('DELIVERED');

    // Another endpoint's current ciphertext copied onto this one: refused too, and that endpoint is unharmed.
    const other = await ciphertexts(on, endpoints.kms2.id);
    await set(endpoints.local2.id, { secretCiphertext: other.secretCiphertext });
    receiver.requests.length = 0;
    const moved = await deliveryTo(on, endpoints.local2.id);
    expect(moved.status).toBe('DEAD');
    expect((await attemptsOf(on, moved.id))[0]!.error).toContain('does not decrypt here');
    expect((await waitForStatus(on, endpoints.kms2.id, ['DELIVERED'], { eventType: 'license.created' })).status).toBe('DELIVERED');
    await workers.pop()!.stop();
  });

  it('refuses a ciphertext naming a key this server does not hold, by its id', async () => {
    const on = await app(kmsOnly());
    worker(on, owner.orgId);
    // What local key 1 wrapped, after the local keys were retired.
    await on.services.db
      .update(webhookEndpoints)
      .set({ secretCiphertext: sealedAsV1(K1, endpoints.v1.id, endpoints.v1.secret) })
      .where(eq(webhookEndpoints.id, endpoints.v1.id));
    const delivery = await deliveryTo(on, endpoints.v1.id);
    expect(delivery.status).toBe('DEAD');
    expect((await attemptsOf(on, delivery.id))[0]!.error).toBe(
      "not sent: the endpoint's signing secret is a v1 ciphertext, and local key 1 (WEBHOOK_SECRET_KEY version 1) is not configured",
    );
    await workers.pop()!.stop();
  });
});

describe('rewrap beside a running server', () => {
  it('never overwrites a rotation: concurrent rewraps and rotations leave every endpoint with its newest secret, all under the current key', async () => {
    const sealing = await app(LOCAL_2);
    const mover = await app(kms());
    const made = await Promise.all(Array.from({ length: 30 }, () => hook(sealing)));
    const newest = new Map(made.map((e) => [e.id, e.secret]));
    const rotations = made.slice(0, 15).map(async ({ id }) => {
      const r = await gql(sealing, ROTATE, { id }, owner.token);
      newest.set(id, r.data!.rotateWebhookSecret.secret);
    });
    const [first, second] = await Promise.all([
      rewrapWebhookSecrets(mover.services, { batchSize: 4 }),
      rewrapWebhookSecrets(mover.services, { batchSize: 7 }),
      ...rotations,
    ]);
    expect(first!.failed).toEqual([]);
    expect(second!.failed).toEqual([]);
    // Whatever a rotation sealed with local:2 while they ran, a last run moves; then all is current.
    await rewrapWebhookSecrets(mover.services);
    expect((await rewrapWebhookSecrets(mover.services)).rewrapped).toEqual({});
    for (const [id, secret] of newest) {
      const row = await ciphertexts(mover, id);
      expect(row.secretCiphertext.startsWith(`v2.${KMS_V2}.`)).toBe(true);
      expect(await openEndpointSecret(mover.services.webhookSecrets, row.secretCiphertext, id, { slot: 'current' })).toBe(secret);
    }
  });
});

describe('the KMS key wrapper', () => {
  it('refuses answers whose CRC32C checksums do not hold, both ways', async () => {
    const wrapper = createKmsKeyWrapper({ cryptoKeys: [CRYPTO_KEY], endpoint: fake.endpoint });
    try {
      const aad = new Uint8Array([1, 2, 3]);
      const { keyId, wrapped } = await wrapper.wrap(new Uint8Array(32).fill(7), aad);
      expect(keyId).toBe(KMS_V2);
      expect(new Uint8Array(await wrapper.unwrap(keyId, wrapped, aad))).toEqual(new Uint8Array(32).fill(7));
      await expect(wrapper.unwrap(keyId, wrapped, new Uint8Array([1, 2, 4]))).rejects.toMatchObject({ reason: 'does-not-open' });
      for (const fault of ['bad-ciphertext-crc', 'unverified-plaintext'] as const) {
        fake.setFault(fault);
        await expect(wrapper.wrap(new Uint8Array(32), aad), fault).rejects.toMatchObject({ reason: 'unavailable' });
      }
      fake.setFault('bad-plaintext-crc');
      await expect(wrapper.unwrap(keyId, wrapped, aad)).rejects.toMatchObject({ reason: 'unavailable' });
      fake.setFault('unavailable');
      await expect(wrapper.unwrap(keyId, wrapped, aad)).rejects.toBeInstanceOf(SecretUnsealError);
      fake.setFault('none');
      // A version of a CryptoKey that is not configured is refused without asking KMS.
      const decrypts = fake.decryptCount;
      await expect(wrapper.unwrap(KMS_V2.replace('webhook-secrets', 'other'), wrapped, aad)).rejects.toMatchObject({
        reason: 'unknown-key',
      });
      expect(fake.decryptCount).toBe(decrypts);
    } finally {
      fake.setFault('none');
      await wrapper.close();
    }
  });

  it('answers SERVICE_UNAVAILABLE to a new endpoint while KMS cannot wrap its data key, and nothing is written', async () => {
    const fresh = await app(kms());
    const before = await fresh.services.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.orgId, owner.orgId));
    fake.setFault('unavailable');
    try {
      const r = await gql(
        fresh,
        `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { __typename } }`,
        {
          input: { url: receiver.url, eventTypes: ['*'] },
        },
        owner.token,
      );
      expect(r.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      fake.setFault('none');
    }
    const after = await fresh.services.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.orgId, owner.orgId));
    expect(after).toHaveLength(before.length);
    // The failed wrap is not remembered: the next create wraps and succeeds.
    expect((await hook(fresh)).secret).toMatch(/^whsec_/);
  }, 30_000);
});
