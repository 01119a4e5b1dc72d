/**
 * The one place that reads the environment. Everything else receives a `Config`.
 * Unset variables fall back to the embedded mode (PGlite, in-process seats, local key in ./.data).
 */
import { parseIdentityProviders, type IdentityProvider } from './identityProviders.ts';
import { parseRateLimitPolicy, type RateLimitPolicy } from './rateLimitPolicy.ts';

export type SignerKind = 'local' | 'kms';
/** When responses carry Strict-Transport-Security: for requests that arrived over https, always, or never. */
export type HstsMode = 'https' | 'always' | 'off';

export interface Config {
  port: number;
  /** The address to listen on (`HOST`): loopback in the embedded mode, one person's server; undefined = every interface. */
  host: string | undefined;
  /** On SIGTERM or SIGINT, how long requests in flight may take to finish before their connections are cut. */
  shutdownGraceMs: number;
  /** postgres:// URL the app runs as; undefined = embedded PGlite in `${dataDir}/pg`. */
  databaseUrl: string | undefined;
  /**
   * The tables' owner, for migrations only (and to grant `databaseUrl`'s role leasehold_server);
   * undefined = `databaseUrl` migrates, and the app runs as the owner.
   */
  migrationDatabaseUrl: string | undefined;
  /** redis:// URL (or comma-separated cluster nodes with `REDIS_CLUSTER=1`); undefined = in-process seat store. */
  redisUrl: string | undefined;
  redisCluster: boolean;
  /** How long connecting to Postgres may take, and how long a connection may stay silent before a fresh one checks that Postgres still answers. */
  databaseTimeoutMs: number;
  dataDir: string;
  /** The built web console served at /dashboard. */
  consoleDir: string;
  /** The operator's root credential for admin operations; generated into dataDir when unset. */
  adminToken: string | undefined;
  /** Server secret for new license keys' lookup hashes and checksums; generated into dataDir (as version 1) when unset. */
  licenseKeySecret: string | undefined;
  /** The version of `licenseKeySecret` (`LICENSE_KEY_SECRET_VERSION`, default 1), which every new key carries. */
  licenseKeySecretVersion: number;
  /** Other versions whose keys are still accepted (`LICENSE_KEY_SECRET_<N>`): older ones until retired, the next before it is current. */
  licenseKeySecretsAccepted: { version: number; secret: string }[];
  signer: SignerKind;
  /** PEM (PKCS#8) private key for the local signer; otherwise kept in dataDir. */
  signingKeyPem: string | undefined;
  /** Public keys published beside the local signing key and never used to sign (PEM blocks): the next key, the replaced ones. */
  signingKeysPublished: string | undefined;
  /** KMS key versions, newest first: the first signs, all are published in the JWKS. */
  kmsKeyVersions: string[];
  /** Test and on-prem override of the KMS endpoint, `host:port`, plaintext gRPC. */
  kmsEndpoint: string | undefined;
  issuer: string;
  defaultLeaseSeconds: number;
  sweepIntervalMs: number;
  heartbeatFlushMs: number;
  maxRequestBytes: number;
  /** Browser origins that may call the API cross-origin (`CORS_ORIGINS`); empty = same-origin only. */
  corsOrigins: string[];
  /** Strict-Transport-Security: when the request arrived over https (default), always, or never. */
  hsts: HstsMode;
  /** What callers without a credential may send: any document, or only the SDK's persisted ones. */
  anonymousOperations: 'any' | 'persisted';
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Bearer token that /metrics asks for; with neither it nor `metricsPort`, /metrics is closed. */
  metricsToken: string | undefined;
  /** A separate port serving only /metrics (on `host`); the main port then has no /metrics. */
  metricsPort: number | undefined;
  /** Which API keys this server accepts: `pk_live_…` on live, `pk_test_…` on test. */
  environment: 'live' | 'test';
  /** Peers whose X-Forwarded-For is believed (CIDRs); empty = use the socket address. */
  trustedProxies: string[];
  /** PEM (PKCS#8) Ed25519 key for dashboard access tokens when signing locally; otherwise kept in dataDir. With SIGNER=kms, KMS signs them. */
  accessTokenKeyPem: string | undefined;
  /** The owner created when the server first starts on an empty database. */
  bootstrapOwnerEmail: string;
  /** Requests per caller kind, API-key tier and license (RATE_LIMITS JSON; see services/rateLimits.ts). */
  rateLimits: RateLimitPolicy;
  /** The OpenID Connect issuers whose ID tokens sign dashboard users in (`OIDC_PROVIDERS` JSON; see identityProviders.ts). */
  identityProviders: IdentityProvider[];
  /** How long one request to an issuer (discovery, key set, code exchange) may take before sign-in answers SERVICE_UNAVAILABLE. */
  identityProviderTimeoutMs: number;
  /** How long a resolved API key is believed before Postgres is asked again: the bound on revocation. */
  apiKeyCacheMs: number;
  /** How often API-key usage and lastUsedAt are written out. */
  usageFlushMs: number;
  /** How often recorded meter usage (and what else the request path only buffers) is written to Postgres. */
  historyFlushMs: number;
  /** How often seat utilization minutes are rolled up into hours and days, and old points and verification log entries dropped. */
  rollUpIntervalMs: number;
  /** AES-256-GCM key (32 bytes, base64) that wraps the data keys of webhook secrets at rest; generated into dataDir (version 1) when unset and KMS does not wrap. */
  webhookSecretKey: string | undefined;
  /** The version of `webhookSecretKey` (`WEBHOOK_SECRET_KEY_VERSION`, default 1): its ciphertexts name `local:<version>`. */
  webhookSecretKeyVersion: number;
  /** Other local keys that still unwrap (`WEBHOOK_SECRET_KEY_<N>`), until `rewrap` has moved what they wrapped. */
  webhookSecretKeysAccepted: { version: number; key: string }[];
  /** Cloud KMS CryptoKeys (ENCRYPT_DECRYPT) that wrap data keys instead (`KMS_ENCRYPTION_KEY`): the first wraps, all unwrap. */
  kmsEncryptionKeys: string[];
  /** Lets webhook endpoints point at loopback and private addresses (over http too) on a live server. */
  webhookAllowPrivate: boolean;
  /** `in-process`: every instance runs a delivery worker; `off`: only `npm run worker` processes deliver. */
  webhookWorker: 'in-process' | 'off';
  /** How long one delivery attempt may take, answer included. */
  webhookTimeoutMs: number;
  /** Waits after the 1st, 2nd, … failed attempt (the last one repeats), before jitter and Retry-After. */
  webhookBackoffSeconds: number[];
  /** Attempts per delivery before it is DEAD. */
  webhookMaxAttempts: number;
  /** An event older than this when its attempt comes due is not sent (REPLAY_EXPIRED). */
  webhookMaxEventAgeSeconds: number;
  /** How often an idle worker looks for due deliveries. */
  webhookPollMs: number;
  /** Deliveries a worker claims in one statement (at most its free slots). */
  webhookBatchSize: number;
  /** Attempts one worker runs at once. */
  webhookConcurrency: number;
  /**
   * Requests one worker has open at once to a single endpoint: a hanging receiver holds no more
   * slots. By default an eighth of webhookConcurrency, as 8 of 64 were before outcomes were
   * recorded in batches made a slot cheap (a socket, not a transaction per attempt).
   */
  webhookEndpointConcurrency: number;
  /** An endpoint whose every attempt failed for this long is disabled (`endpoint.disabled`); 0 = never. */
  webhookDisableAfterHours: number;
  /** A license expiring within this many days is announced once (`license.expiring-soon`). */
  licenseExpiryWarningDays: number;
  /** How often the background jobs look for licenses about to expire. */
  licenseExpiryCheckMs: number;
  /** How often each audit chain whose head moved is signed (an anchor): the most an attacker's rewrite of the newest rows can go unreported. */
  auditAnchorIntervalMs: number;
}

/** A Cloud KMS CryptoKey's resource name, without a version. */
export const CRYPTO_KEY_NAME = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/**
 * A configured store that does not answer at start: named by its variable and its address,
 * never its credentials.
 */
export function unreachable(variable: string, store: string, url: string, cause: unknown): ConfigError {
  // loadConfig checked that every comma-separated part is a URL.
  const parsed = new URL(url.split(',')[0]!.trim());
  const where = `${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  const reason = (cause as { code?: string }).code ?? (cause as Error).message ?? String(cause);
  return new ConfigError(variable, `cannot reach ${store} at ${where} (${reason})`);
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `expected an integer in [${min}, ${max}], got "${raw}"`);
  }
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  for (const part of raw.split(',')) {
    let parsed: URL;
    try {
      parsed = new URL(part.trim());
    } catch {
      throw new ConfigError(name, 'not a valid URL');
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(name, `expected ${protocols.join(' or ')} URL, got ${parsed.protocol}`);
    }
  }
  return raw;
}

/** A variable read by its own parser (JSON policies), whose error is told under the variable's name. */
function parsed<T>(env: Env, name: string, parse: (raw: string | undefined) => T): T {
  try {
    return parse(env[name]);
  } catch (error) {
    throw new ConfigError(name, (error as Error).message);
  }
}

function flag(env: Env, name: string): boolean {
  return oneOf(env, name, ['0', '1', 'false', 'true'] as const, '0') === '1' || env[name] === 'true';
}

/** Comma-separated seconds, fractions allowed (tests shrink the backoff to milliseconds). */
function secondsList(env: Env, name: string, fallback: number[]): number[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const values = raw.split(',').map((part) => Number(part.trim()));
  if (values.some((v) => !Number.isFinite(v) || v < 0 || v > 7 * 86_400)) {
    throw new ConfigError(name, `expected comma-separated seconds from 0 to ${7 * 86_400}, got "${raw}"`);
  }
  return values;
}

/** 32 bytes in base64 or base64url, as `openssl rand -base64 32` prints them. */
function aesKey(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let length: number;
  try {
    length = atob(raw.trim().replace(/-/g, '+').replace(/_/g, '/')).length;
  } catch {
    throw new ConfigError(name, 'not valid base64');
  }
  if (length !== 32) throw new ConfigError(name, `expected 32 bytes in base64, got ${length}`);
  return raw.trim();
}

/** Comma-separated browser origins (`https://console.example.com`), each exactly as a browser sends it. */
function origins(env: Env, name: string): string[] {
  const list = (env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const origin of list) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {}
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError(name, `"${origin}" is not an origin (scheme://host[:port], no path or trailing slash)`);
    }
  }
  return list;
}

/** Shortest shared secret taken, counted after trimming (whitespace guesses nothing). */
export const SECRET_MIN_LENGTH = 24;

/** The value as set: a secret that keys something (license keys' checksums) must not change under it. */
function secret(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const length = raw.trim().length;
  if (length < SECRET_MIN_LENGTH) throw new ConfigError(name, `must be at least ${SECRET_MIN_LENGTH} characters after trimming, got ${length}`);
  return raw;
}

/** Secret versions run from 1 (the unversioned secret of old) to this; license keys spell them in decimal. */
export const SECRET_VERSION_MAX = 9999;

/**
 * `<BASE>_<N>`: the secret of version N, other than the current one, which `<BASE>` itself holds
 * (`LICENSE_KEY_SECRET_1` beside `LICENSE_KEY_SECRET`). Each is kept exactly as `read` takes it.
 */
function otherVersions(
  env: Env,
  base: string,
  currentVersion: number,
  read: (env: Env, name: string) => string | undefined,
): { version: number; secret: string }[] {
  const others: { version: number; secret: string }[] = [];
  const pattern = new RegExp(`^${base}_(\\d+)$`);
  for (const name of Object.keys(env).sort()) {
    const match = pattern.exec(name);
    if (!match) continue;
    const version = Number(match[1]);
    if (String(version) !== match[1] || version < 1 || version > SECRET_VERSION_MAX) {
      throw new ConfigError(name, `the version must be 1 to ${SECRET_VERSION_MAX} without leading zeros`);
    }
    const value = read(env, name);
    if (value === undefined) continue;
    if (version === currentVersion) {
      if (!env[base]) throw new ConfigError(name, `version ${version} is the current one (${base}_VERSION): set it as ${base}`);
      if (value !== read(env, base)) throw new ConfigError(name, `differs from ${base}, which is version ${version} too`);
      continue;
    }
    others.push({ version, secret: value });
  }
  return others;
}

/** The current version of `<BASE>` (`<BASE>_VERSION`, default 1); a generated secret is always version 1. */
function currentVersion(env: Env, base: string): number {
  const version = int(env, `${base}_VERSION`, 1, 1, SECRET_VERSION_MAX);
  if (version !== 1 && !env[base]) {
    throw new ConfigError(`${base}_VERSION`, `a version other than 1 needs its secret in ${base} (a generated one is version 1)`);
  }
  return version;
}

/**
 * What every instance on one database must hold alike. Left unset, each is generated into the
 * instance's data directory, which is right for the embedded mode and wrong for two instances:
 * each would refuse the other's license keys, tokens, webhook secrets and leases.
 */
function sharedSecretsLeftToGenerate(env: Env, signer: SignerKind): string[] {
  const shared = ['LEASEHOLD_ADMIN_TOKEN', 'LICENSE_KEY_SECRET'];
  // With KMS wrapping data keys, no local key is needed (one still set opens what it wrapped).
  if (!env.KMS_ENCRYPTION_KEY) shared.push('WEBHOOK_SECRET_KEY');
  // With KMS signing, access tokens are signed there too.
  if (signer === 'local') shared.push('ACCESS_TOKEN_KEY_PEM', 'SIGNING_KEY_PEM');
  return shared.filter((name) => !env[name]);
}

export function loadConfig(env: Env = readEnv()): Config {
  const signer = oneOf(env, 'SIGNER', ['local', 'kms'] as const, 'local');
  // On Postgres the server is meant to scale out; only tests and development may still generate.
  if (env.DATABASE_URL && env.NODE_ENV !== 'test' && env.NODE_ENV !== 'development') {
    const missing = sharedSecretsLeftToGenerate(env, signer);
    if (missing.length > 0) {
      throw new ConfigError(
        'DATABASE_URL',
        `is set, so every instance on that database must share its secrets: set ${missing.join(', ')} to the same values on each ` +
          '(README, "Configuration"); generated ones would differ per instance',
      );
    }
  }
  const kmsKeyVersions = (env.KMS_KEY_VERSION ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of kmsKeyVersions) {
    if (!/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+\/cryptoKeyVersions\/\d+$/.test(name)) {
      throw new ConfigError('KMS_KEY_VERSION', `"${name}" is not a key version name (projects/…/cryptoKeyVersions/N)`);
    }
  }
  if (signer === 'kms' && kmsKeyVersions.length === 0) {
    throw new ConfigError('KMS_KEY_VERSION', 'required when SIGNER=kms');
  }
  const licenseKeySecretVersion = currentVersion(env, 'LICENSE_KEY_SECRET');
  const webhookSecretKeyVersion = currentVersion(env, 'WEBHOOK_SECRET_KEY');
  const kmsEncryptionKeys = (env.KMS_ENCRYPTION_KEY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of kmsEncryptionKeys) {
    if (!CRYPTO_KEY_NAME.test(name)) {
      throw new ConfigError('KMS_ENCRYPTION_KEY', `"${name}" is not a CryptoKey name (projects/…/cryptoKeys/NAME, no version)`);
    }
  }
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const migrationDatabaseUrl = url(env, 'MIGRATION_DATABASE_URL', ['postgres:', 'postgresql:']);
  if (migrationDatabaseUrl && !databaseUrl) {
    throw new ConfigError('MIGRATION_DATABASE_URL', 'is set without DATABASE_URL: the embedded database migrates itself');
  }
  const port = int(env, 'PORT', 4000, 0, 65535);
  const metricsPort = env.METRICS_PORT ? int(env, 'METRICS_PORT', 0, 1, 65535) : undefined;
  if (metricsPort !== undefined && metricsPort === port) throw new ConfigError('METRICS_PORT', `must differ from PORT (${port})`);
  return {
    port,
    host: env.HOST || (databaseUrl ? undefined : '127.0.0.1'),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    databaseUrl,
    migrationDatabaseUrl,
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisCluster: flag(env, 'REDIS_CLUSTER'),
    databaseTimeoutMs: int(env, 'DATABASE_TIMEOUT_MS', 1000, 100, 600_000),
    dataDir: env.DATA_DIR || './.data',
    consoleDir: env.CONSOLE_DIR || './dashboard/dist',
    adminToken: secret(env, 'LEASEHOLD_ADMIN_TOKEN'),
    licenseKeySecret: secret(env, 'LICENSE_KEY_SECRET'),
    licenseKeySecretVersion,
    licenseKeySecretsAccepted: otherVersions(env, 'LICENSE_KEY_SECRET', licenseKeySecretVersion, secret),
    signer,
    signingKeyPem: env.SIGNING_KEY_PEM || undefined,
    signingKeysPublished: env.SIGNING_KEYS_PUBLISHED || undefined,
    kmsKeyVersions,
    kmsEndpoint: env.KMS_ENDPOINT || undefined,
    issuer: env.LEASEHOLD_ISSUER || 'leasehold',
    defaultLeaseSeconds: int(env, 'DEFAULT_LEASE_SECONDS', 360, 1, 86_400),
    sweepIntervalMs: int(env, 'SWEEP_INTERVAL_MS', 1000, 50, 3_600_000),
    heartbeatFlushMs: int(env, 'HEARTBEAT_FLUSH_MS', 5000, 50, 3_600_000),
    maxRequestBytes: int(env, 'MAX_REQUEST_BYTES', 1_048_576, 1024, 100_000_000),
    corsOrigins: origins(env, 'CORS_ORIGINS'),
    hsts: oneOf(env, 'HSTS', ['https', 'always', 'off'] as const, 'https'),
    anonymousOperations: oneOf(env, 'ANONYMOUS_OPERATIONS', ['any', 'persisted'] as const, 'any'),
    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error', 'silent'] as const, 'info'),
    metricsToken: secret(env, 'METRICS_TOKEN'),
    metricsPort,
    environment: oneOf(env, 'LEASEHOLD_ENVIRONMENT', ['live', 'test'] as const, 'live'),
    trustedProxies: (env.TRUSTED_PROXIES ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    accessTokenKeyPem: env.ACCESS_TOKEN_KEY_PEM || undefined,
    bootstrapOwnerEmail: env.BOOTSTRAP_OWNER_EMAIL || 'owner@leasehold.local',
    rateLimits: parsed(env, 'RATE_LIMITS', parseRateLimitPolicy),
    identityProviders: parsed(env, 'OIDC_PROVIDERS', parseIdentityProviders),
    identityProviderTimeoutMs: int(env, 'OIDC_TIMEOUT_MS', 3000, 50, 60_000),
    apiKeyCacheMs: int(env, 'API_KEY_CACHE_MS', 5000, 0, 60_000),
    usageFlushMs: int(env, 'USAGE_FLUSH_MS', 10_000, 50, 3_600_000),
    historyFlushMs: int(env, 'HISTORY_FLUSH_MS', 2000, 50, 3_600_000),
    rollUpIntervalMs: int(env, 'ROLLUP_INTERVAL_MS', 60_000, 50, 3_600_000),
    webhookSecretKey: aesKey(env, 'WEBHOOK_SECRET_KEY'),
    webhookSecretKeyVersion,
    webhookSecretKeysAccepted: otherVersions(env, 'WEBHOOK_SECRET_KEY', webhookSecretKeyVersion, aesKey).map(({ version, secret }) => ({ version, key: secret })),
    kmsEncryptionKeys,
    webhookAllowPrivate: flag(env, 'WEBHOOK_ALLOW_PRIVATE'),
    webhookWorker: oneOf(env, 'WEBHOOK_WORKER', ['in-process', 'off'] as const, 'in-process'),
    webhookTimeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 15_000, 100, 300_000),
    webhookBackoffSeconds: secondsList(env, 'WEBHOOK_BACKOFF_SECONDS', [60, 300, 900]),
    webhookMaxAttempts: int(env, 'WEBHOOK_MAX_ATTEMPTS', 3, 1, 100),
    webhookMaxEventAgeSeconds: int(env, 'WEBHOOK_MAX_EVENT_AGE_SECONDS', 3 * 86_400, 1, 365 * 86_400),
    webhookPollMs: int(env, 'WEBHOOK_POLL_MS', 1000, 10, 3_600_000),
    webhookBatchSize: int(env, 'WEBHOOK_BATCH_SIZE', 100, 1, 1000),
    webhookConcurrency: int(env, 'WEBHOOK_CONCURRENCY', 256, 1, 10_000),
    webhookEndpointConcurrency: int(env, 'WEBHOOK_ENDPOINT_CONCURRENCY', 32, 1, 10_000),
    webhookDisableAfterHours: int(env, 'WEBHOOK_DISABLE_AFTER_HOURS', 120, 0, 8760),
    licenseExpiryWarningDays: int(env, 'LICENSE_EXPIRY_WARNING_DAYS', 7, 1, 365),
    licenseExpiryCheckMs: int(env, 'LICENSE_EXPIRY_CHECK_MS', 60_000, 50, 86_400_000),
    auditAnchorIntervalMs: int(env, 'AUDIT_ANCHOR_INTERVAL_MS', 60_000, 50, 86_400_000),
  };
}

/** Node and Bun expose `process.env`; Deno exposes it too through its Node compatibility layer. */
function readEnv(): Env {
  return (globalThis as { process?: { env: Env } }).process?.env ?? {};
}
