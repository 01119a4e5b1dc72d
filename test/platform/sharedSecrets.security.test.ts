/**
 * Instances on one Postgres must share their secrets. Left to generate them, two instances with
 * a data directory each would make different ones and refuse each other's license keys, tokens,
 * webhook secrets and leases, so the server refuses to start and names what to set.
 */
import { describe, expect, it } from 'vitest';
import { configRefusal } from '../support/harness.ts';

const ON_POSTGRES = { DATABASE_URL: 'postgres://db.internal/leasehold', NODE_ENV: 'production', DATA_DIR: '/var/lib/leasehold' };
const SHARED = {
  LEASEHOLD_ADMIN_TOKEN: 'admin-token-0123456789abcdef',
  LICENSE_KEY_SECRET: 'license-key-secret-0123456789',
  WEBHOOK_SECRET_KEY: 'dGVzdC13ZWJob29rLXNlY3JldC1rZXktMzItYnl0ZXM=',
  ACCESS_TOKEN_KEY_PEM: '-----BEGIN PRIVATE KEY-----\naccess\n-----END PRIVATE KEY-----',
  SIGNING_KEY_PEM: '-----BEGIN PRIVATE KEY-----\nsigning\n-----END PRIVATE KEY-----',
};
const KMS = { SIGNER: 'kms', KMS_KEY_VERSION: 'projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1' };

const refusal = configRefusal;

describe('an instance on Postgres', () => {
  it('refuses to start with a data directory only, naming every secret to share', () => {
    const error = refusal(ON_POSTGRES);
    expect(error?.variable).toBe('DATABASE_URL');
    for (const name of Object.keys(SHARED)) expect(error?.message).toContain(name);
  });

  it('names only the secrets still missing', () => {
    const { LICENSE_KEY_SECRET: _, ...allButOne } = SHARED;
    const error = refusal({ ...ON_POSTGRES, ...allButOne });
    expect(error?.message).toContain('LICENSE_KEY_SECRET');
    for (const name of Object.keys(allButOne)) expect(error?.message).not.toContain(name);
  });

  it('starts once every shared secret is set; signing through KMS needs no local signing key', () => {
    expect(refusal({ ...ON_POSTGRES, ...SHARED })).toBeUndefined();
    const { SIGNING_KEY_PEM: _, ...withoutSigningKey } = SHARED;
    expect(refusal({ ...ON_POSTGRES, ...withoutSigningKey, ...KMS })).toBeUndefined();
    expect(refusal({ ...ON_POSTGRES, ...withoutSigningKey })?.message).toContain('SIGNING_KEY_PEM');
  });

  it('needs no local webhook key when Cloud KMS wraps the data keys of stored secrets', () => {
    const { WEBHOOK_SECRET_KEY: _, ...withoutWebhookKey } = SHARED;
    expect(refusal({ ...ON_POSTGRES, ...withoutWebhookKey })?.message).toContain('WEBHOOK_SECRET_KEY');
    const kmsWraps = { KMS_ENCRYPTION_KEY: 'projects/p/locations/global/keyRings/r/cryptoKeys/webhook-secrets' };
    expect(refusal({ ...ON_POSTGRES, ...withoutWebhookKey, ...kmsWraps })).toBeUndefined();
    expect(refusal({ ...ON_POSTGRES, ...SHARED, KMS_ENCRYPTION_KEY: `${kmsWraps.KMS_ENCRYPTION_KEY}/cryptoKeyVersions/1` })?.variable).toBe(
      'KMS_ENCRYPTION_KEY',
    );
  });

  it('still generates them in the embedded mode, and in tests and development', () => {
    expect(refusal({ NODE_ENV: 'production', DATA_DIR: '/var/lib/leasehold' })).toBeUndefined();
    expect(refusal({ ...ON_POSTGRES, NODE_ENV: 'test' })).toBeUndefined();
    expect(refusal({ ...ON_POSTGRES, NODE_ENV: 'development' })).toBeUndefined();
  });
});
