/**
 * The license-key secret rotates without invalidating the keys already issued: a key names the
 * version of the secret that made it, keys of every configured version are accepted, and new
 * keys carry the current one. A key of a retired version, or with a forged marker, is refused as
 * NOT_FOUND by the server alone: shown, as in keys.security.test.ts, by cutting Postgres away
 * while a genuine key that must be looked up answers SERVICE_UNAVAILABLE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLicenseKeys } from '../../src/services/licenses/licenseKeys.ts';
import { DATABASE_URL, acquire, configRefusal, gql, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { tcpProxy } from '../support/tcpProxy.ts';
import { createLicenseAs } from '../support/webhooks.ts';

const SECRET_1 = 'test-license-key-secret-0123456789';
const SECRET_2 = 'second-license-key-secret-abcdefghij';
const SECRET_3 = 'third-license-key-secret-klmnopqrstu';
const VALIDATE = `mutation($input: ValidateLicenseInput!) { validateLicense(input: $input) { valid code license { id } } }`;

/** Before versions: one secret, version 1 by default. */
const BEFORE = { LICENSE_KEY_SECRET: SECRET_1 };
/** The roll's first step on every instance: version 2 accepted, version 1 still current. */
const NEXT_ACCEPTED = { LICENSE_KEY_SECRET: SECRET_1, LICENSE_KEY_SECRET_2: SECRET_2 };
/** The roll's second step: version 2 makes new keys, version 1 still accepted. */
const ROTATED = { LICENSE_KEY_SECRET: SECRET_2, LICENSE_KEY_SECRET_VERSION: '2', LICENSE_KEY_SECRET_1: SECRET_1 };
/** Later: version 3 current, version 2 accepted, version 1 retired. */
const RETIRED = { LICENSE_KEY_SECRET: SECRET_3, LICENSE_KEY_SECRET_VERSION: '3', LICENSE_KEY_SECRET_2: SECRET_2 };

let before: App;
let nextAccepted: App;
let rotated: App;
let retired: App;
let proxy: Awaited<ReturnType<typeof tcpProxy>>;
let keyV1: { id: string; key: string };
let keyV2: { id: string; key: string };
let keyV3: { id: string; key: string };

beforeAll(async () => {
  proxy = await tcpProxy(Number(new URL(DATABASE_URL).port || 5432));
  const throughProxy = new URL(DATABASE_URL);
  throughProxy.port = String(proxy.port);
  [before, nextAccepted, rotated, retired] = await Promise.all([
    startApp(BEFORE),
    startApp(NEXT_ACCEPTED),
    startApp({ ...ROTATED, DATABASE_URL: throughProxy.toString() }),
    startApp({ ...RETIRED, DATABASE_URL: throughProxy.toString() }),
  ]);
  keyV1 = await createLicenseAs(before, (await seedOrganization(before)).token, { maxSeats: 5 });
  keyV2 = await createLicenseAs(rotated, (await seedOrganization(rotated)).token, { maxSeats: 5 });
  keyV3 = await createLicenseAs(retired, (await seedOrganization(retired)).token, { maxSeats: 5 });
});
/** After a heal the database answers again within a few checks (DATABASE_TIMEOUT_MS): acquire until it does. */
async function acquireOnceBack(app: App, key: string, fingerprint: string) {
  const started = Date.now();
  for (;;) {
    const result = await acquire(app, key, fingerprint);
    if (result.errors?.[0]?.extensions?.code !== 'SERVICE_UNAVAILABLE' || Date.now() - started > 10_000) return result;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

afterAll(async () => {
  await proxy.restore();
  await Promise.all([before, nextAccepted, rotated, retired].map((app) => app?.close()));
  await proxy.close();
});

describe('a rotation of LICENSE_KEY_SECRET', () => {
  it('keeps the keys made before it: they acquire a seat on a rotated instance', async () => {
    expect(keyV1.key).toMatch(/^lhk_[0-9A-Za-z]{33}$/);
    expect(await acquire(rotated, keyV1.key, 'machine-after-rotation')).toMatchObject({ __typename: 'SeatGranted' });
    expect(await acquire(nextAccepted, keyV1.key, 'machine-mid-roll')).toMatchObject({ __typename: 'SeatGranted' });
  });

  it('makes new keys with the current version, which names itself in the key', async () => {
    expect(keyV2.key).toMatch(/^lhk_2_[0-9A-Za-z]{33}$/);
    expect(keyV3.key).toMatch(/^lhk_3_[0-9A-Za-z]{33}$/);
    expect(await acquire(rotated, keyV2.key, 'machine-a')).toMatchObject({ __typename: 'SeatGranted' });
  });

  it('lets the instances not yet switched take the new keys once the next version is accepted everywhere', async () => {
    // The roll's first step: an instance that still makes version 1 keys already takes version 2 ones.
    expect(await acquire(nextAccepted, keyV2.key, 'machine-b')).toMatchObject({ __typename: 'SeatGranted' });
    const validation = await gql(nextAccepted, VALIDATE, { input: { licenseKey: keyV2.key } });
    expect(validation.data?.validateLicense).toMatchObject({ valid: true, code: 'VALID', license: { id: keyV2.id } });
    // Skipping that step is what breaks: an instance knowing only version 1 cannot place the key.
    expect(await acquire(before, keyV2.key, 'machine-b')).toMatchObject({ __typename: 'LicenseNotFound', code: 'NOT_FOUND' });
  });

  it('refuses a key of a retired version as NOT_FOUND without asking Postgres', async () => {
    proxy.cut();
    try {
      // A version 2 key, still accepted, must be looked up and cannot be while Postgres is away: the cut is real.
      expect((await acquire(retired, keyV2.key, 'probe')).errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect(await acquire(retired, keyV1.key, 'machine-c')).toMatchObject({ __typename: 'LicenseNotFound', code: 'NOT_FOUND' });
      const validation = await gql(retired, VALIDATE, { input: { licenseKey: keyV1.key } });
      expect(validation.data?.validateLicense).toEqual({ valid: false, code: 'NOT_FOUND', license: null });
    } finally {
      await proxy.restore();
    }
    expect(await acquireOnceBack(retired, keyV2.key, 'machine-c')).toMatchObject({ __typename: 'SeatGranted' });
    expect(await acquire(retired, keyV3.key, 'machine-c')).toMatchObject({ __typename: 'SeatGranted' });
  });

  it('refuses forged version markers as NOT_FOUND without asking Postgres', async () => {
    const v1Rest = keyV1.key.slice('lhk_'.length);
    const v2Rest = keyV2.key.slice('lhk_2_'.length);
    const v3Rest = keyV3.key.slice('lhk_3_'.length);
    const forged = [
      `lhk_1_${v1Rest}`, // version 1 spelled out: a second spelling of an unmarked key
      `lhk_01_${v1Rest}`,
      `lhk_02_${v2Rest}`,
      `lhk_3_${v2Rest}`, // a version 2 key relabelled as a version the server holds
      `lhk_2_${v3Rest}`,
      `lhk_${v2Rest}`, // the marker stripped: checked as version 1
      `lhk_2_${v1Rest}`, // a version 1 key claiming version 2
      `lhk_4_${v3Rest}`, // a version never configured
      `lhk_10000_${v3Rest}`,
      `lhk_-2_${v2Rest}`,
      `lhk_2__${v2Rest}`,
      `lhk__${v2Rest}`,
      `lhk_ 2_${v2Rest}`,
    ];
    proxy.cut();
    try {
      expect((await acquire(rotated, keyV1.key, 'probe')).errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      // On an instance that accepts versions 1 and 2, and on one that accepts 2 and 3.
      for (const app of [rotated, retired]) {
        for (const key of forged) {
          expect(await acquire(app, key, 'machine-d'), key).toMatchObject({ __typename: 'LicenseNotFound', code: 'NOT_FOUND' });
        }
      }
    } finally {
      await proxy.restore();
    }
  });
});

describe('keys made before versions existed', () => {
  it('check and hash exactly as they did: no marker means version 1 of LICENSE_KEY_SECRET', async () => {
    // Made by the key code before versions (commit ab39a50) with the harness's secret.
    const key = 'lhk_GuBEIYDa0i7hgvHGFWEyiTE3KuPhhyEHX';
    const hash = 'cc09069c602eac23964857a598f1354e7c021eeb016a9d4f0b1999da92d2edf4';
    expect(await (await createLicenseKeys({ version: 1, secret: SECRET_1 })).lookupHash(key)).toBe(hash);
    expect(await (await createLicenseKeys({ version: 2, secret: SECRET_2 }, [{ version: 1, secret: SECRET_1 }])).lookupHash(key)).toBe(
      hash,
    );
    expect(await (await createLicenseKeys({ version: 2, secret: SECRET_2 })).lookupHash(key)).toBeUndefined();
  });
});

describe('the secret versions an operator configures', () => {
  it('reads the current version and every other accepted one', () => {
    const config = loadConfig({ ...ROTATED, LICENSE_KEY_SECRET_3: SECRET_3 });
    expect(config.licenseKeySecretVersion).toBe(2);
    expect(config.licenseKeySecretsAccepted).toEqual([
      { version: 1, secret: SECRET_1 },
      { version: 3, secret: SECRET_3 },
    ]);
  });

  it('refuses a version spelled two ways, out of range, or without its secret', () => {
    expect(configRefusal({ ...ROTATED, LICENSE_KEY_SECRET_01: SECRET_1 })?.variable).toBe('LICENSE_KEY_SECRET_01');
    expect(configRefusal({ ...ROTATED, LICENSE_KEY_SECRET_10000: SECRET_1 })?.variable).toBe('LICENSE_KEY_SECRET_10000');
    expect(configRefusal({ LICENSE_KEY_SECRET_VERSION: '2' })?.variable).toBe('LICENSE_KEY_SECRET_VERSION');
    expect(configRefusal({ ...ROTATED, LICENSE_KEY_SECRET_2: SECRET_3 })?.variable).toBe('LICENSE_KEY_SECRET_2');
    expect(configRefusal({ ...ROTATED, LICENSE_KEY_SECRET_1: 'short' })?.variable).toBe('LICENSE_KEY_SECRET_1');
    expect(configRefusal({ ...ROTATED, LICENSE_KEY_SECRET_2: SECRET_2 })).toBeUndefined();
  });
});
