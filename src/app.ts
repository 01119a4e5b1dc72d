/**
 * The composition root: builds config → stores → services → HTTP plugins → Yoga, once.
 * Runtime-agnostic: src/runtime/* serve `app.yoga` over HTTP and WebSocket and hand in the
 * ports that differ per runtime (files, the client's address).
 */
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { ConfigError, SECRET_MIN_LENGTH, type Config } from './config/config.ts';
import { openDatabase, ping, type DatabaseHandle } from './db/client.ts';
import { bodyLimit } from './http/bodyLimit.ts';
import { consoleRoutes, consoleSecurity, loadConsole } from './http/console.ts';
import { inProcessConnInfo, type ConnInfo, type ServerContext } from './http/clientAddress.ts';
import { corsOptions, jsonPostsOnly } from './http/crossOrigin.ts';
import { guardHooks, maskError } from './http/errorMasking.ts';
import { graphiqlPage } from './http/graphiql.ts';
import { loadPersistedOperations, persistedOperationsPlugin, type PersistedOperations } from './http/persistedOperations.ts';
import { endedCredentialsPlugin } from './http/endedCredentials.ts';
import { graphqlContext } from './http/graphqlContext.ts';
import { inputLimitsPlugin } from './http/inputLimits.ts';
import { queryLimitPlugins } from './http/queryLimits.ts';
import { rateLimitPlugin } from './http/rateLimit.ts';
import { metricsRoute } from './http/metricsEndpoint.ts';
import { observability } from './http/observability.ts';
import { checkStores, routes, type Probes } from './http/routes.ts';
import { securityHeaders } from './http/securityHeaders.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { base64url } from './lib/encoding.ts';
import type { FileStore } from './lib/files.ts';
import type { Signer } from './lib/jws.ts';
import { createLogger, type Logger } from './lib/logger.ts';
import type { DestinationStream } from 'pino';
import { schema } from './resolvers/index.ts';
import type { GraphQLContext } from './schema/context.ts';
import { createApiKeyLookups } from './services/apiKeys/lookups.ts';
import { startBackgroundJobs, type BackgroundJobs } from './services/background/jobs.ts';
import type { ServiceContext } from './services/context.ts';
import type { HostResolver, Network } from './lib/network.ts';
import { createAuthenticator } from './services/identity/authenticate.ts';
import { ensureFirstOrganization, newOwnerPassword, type Bootstrapped, type OwnerPassword } from './services/identity/bootstrap.ts';
import { createLicenseKeys } from './services/licenses/licenseKeys.ts';
import { createMeterUsageLog } from './services/meters/usageLog.ts';
import { createMetrics, type Metrics } from './services/metrics.ts';
import { createSeatOutcomes } from './services/seats/outcomes.ts';
import { createUtilizationLog } from './services/utilization/recording.ts';
import { createVerificationLog, refusalEntry } from './services/verifications/log.ts';
import { createHeartbeatBuffer } from './services/sessions/heartbeatBuffer.ts';
import { createAccessTokens, createLocalAccessTokenSigner } from './services/signing/accessTokens.ts';
import { createSignInSessions } from './services/identity/signInSessions.ts';
import { createIdentityProviders } from './services/identity/idTokens.ts';
import { createLocalSigner } from './services/signing/local.ts';
import { createUsageRecorder } from './services/usage/recording.ts';
import { createEnvelope } from './services/encryption/envelope.ts';
import { createLocalKeyWrapper, localKeyBytes, type LocalKey } from './services/encryption/localKeys.ts';
import type { SecretBox } from './services/context.ts';
import type { MeterStore } from './stores/meters/contract.ts';
import { createMemoryMeterStore } from './stores/meters/memory.ts';
import type { PubSub } from './stores/pubsub/contract.ts';
import { createMemoryPubSub } from './stores/pubsub/memory.ts';
import type { RateLimiter } from './stores/rateLimits/contract.ts';
import { createMemoryRateLimiter, createTokenBuckets } from './stores/rateLimits/memory.ts';
import type { SeatStore } from './stores/seats/contract.ts';
import { createMemorySeatStore } from './stores/seats/memory.ts';
import type { SignInStore } from './stores/signIns/contract.ts';
import { createMemorySignInStore } from './stores/signIns/memory.ts';
import type { UsageStore } from './stores/usage/contract.ts';
import { createMemoryUsageStore } from './stores/usage/memory.ts';

export interface AppOptions {
  files: FileStore;
  /** Name resolution, webhook requests and Postgres sockets, as the runtime provides them. */
  network: Network;
  /** How this runtime tells a request's peer (default: only what the server context carries). */
  connInfo?: ConnInfo;
  /** Replaces the configured signer (tests inject a KMS signer on a fake server). */
  signer?: Signer;
  /** The services' clock (tests pin or move time through it). */
  clock?: Clock;
  /** Run the sweeper and heartbeat flush on timers (default true). */
  background?: boolean;
  /** Resolves webhook receivers' names (tests answer them; default the network's resolver). */
  resolveHost?: HostResolver;
  /** Where log lines go (default stdout; tests read them). */
  logTo?: DestinationStream;
}

export interface App {
  yoga: YogaServerInstance<ServerContext, GraphQLContext>;
  services: ServiceContext;
  /** Where the data lives, for the start-up banner. */
  mode: { database: DatabaseHandle['kind']; seats: SeatStore['kind']; signer: string };
  /** The operator's root credential when it was generated here (never logged by the app itself). */
  generatedAdminToken: string | undefined;
  /** What the first start of an empty database created (its secrets are in `firstStartFile`). */
  bootstrapped: Bootstrapped | undefined;
  /**
   * The file of the data directory holding the first start's credentials (0600), or undefined
   * when nothing was created or the file could not be written. Secrets never go to stdout: it
   * is a log in production.
   */
  firstStartFile: string | undefined;
  /** The SDK's documents by hash, for graphql-ws (HTTP goes through the plugin). */
  persistedOperations: PersistedOperations;
  /** What /metrics reports (served by the runtime on METRICS_PORT when that is set). */
  metrics: Metrics;
  close(): Promise<void>;
}

/**
 * Secrets that the operator did not configure are created once in the data directory. A file
 * edited down to whitespace or a few characters stops the start: an empty operator token would
 * match an empty credential.
 */
async function persistentSecret(
  files: FileStore,
  name: string,
  variable: string,
  configured: string | undefined,
): Promise<{ value: string; generated: boolean }> {
  if (configured) return { value: configured, generated: false };
  const existing = await files.read(name);
  if (existing !== undefined) {
    const value = existing.trim();
    if (value.length < SECRET_MIN_LENGTH) {
      throw new ConfigError(
        variable,
        `unset, and the data directory's ${name} file holds ${value.length} characters after trimming (at least ${SECRET_MIN_LENGTH} needed): ` +
          `set ${variable}, or delete the file to have one generated`,
      );
    }
    return { value, generated: false };
  }
  const value = base64url(crypto.getRandomValues(new Uint8Array(32)));
  await files.writeSecret(name, value);
  return { value, generated: true };
}

/** The first start's owner and API key, in a file only this user reads; its name, or undefined when it cannot be written. */
async function writeFirstStartCredentials(files: FileStore, made: Bootstrapped, log: Logger): Promise<string | undefined> {
  const name = `first-start-${made.orgId}.txt`;
  const text = [
    `Leasehold first start: organization ${made.orgId}. Keep these somewhere safe, then delete this file.`,
    `owner:   ${made.ownerEmail} / ${made.ownerPassword}`,
    `API key: ${made.apiKey}`,
    '',
  ].join('\n');
  try {
    await files.writeSecret(name, text);
    return name;
  } catch (error) {
    log.warn('could not write the first-start credentials; make an organization with `npm run cli -- bootstrap`', { error: String(error) });
    return undefined;
  }
}

async function createSigner(config: Config, files: FileStore): Promise<Signer> {
  if (config.signer === 'kms') {
    const { createKmsSigner } = await import('./services/signing/kms.ts');
    return createKmsSigner({ keyVersions: config.kmsKeyVersions, endpoint: config.kmsEndpoint });
  }
  return createLocalSigner({ pem: config.signingKeyPem, publishedPem: config.signingKeysPublished, files });
}

/**
 * The envelope for stored secrets: KMS wraps new data keys when KMS_ENCRYPTION_KEY is set, the
 * current local key otherwise; every configured local key still unwraps what it wrapped.
 */
async function createSecretBox(config: Config, localKeys: LocalKey[]): Promise<SecretBox> {
  const local = await createLocalKeyWrapper(localKeys, config.webhookSecretKeyVersion);
  const legacyKey = localKeys.find((k) => k.version === 1);
  const legacy = legacyKey && localKeyBytes(legacyKey.key);
  if (config.kmsEncryptionKeys.length === 0) return createEnvelope({ current: local, others: [], legacy });
  const { createKmsKeyWrapper } = await import('./services/kms/keyWrapper.ts');
  const kms = createKmsKeyWrapper({ cryptoKeys: config.kmsEncryptionKeys, endpoint: config.kmsEndpoint });
  return createEnvelope({ current: kms, others: [local], legacy });
}

interface Stores {
  seats: SeatStore;
  meters: MeterStore;
  pubsub: PubSub;
  rateLimiter: RateLimiter;
  usage: UsageStore;
  signIns: SignInStore;
}

async function createStores(config: Config, clock: Clock): Promise<Stores> {
  if (config.redisUrl) {
    const { openRedisStores } = await import('./stores/redisStores.ts');
    return openRedisStores(config.redisUrl, { cluster: config.redisCluster });
  }
  const pubsub = createMemoryPubSub();
  // One set of buckets: the seat and meter stores take license tokens from the ones the rate limiter fills.
  const now = () => clock.now();
  const buckets = createTokenBuckets(now);
  return {
    seats: createMemorySeatStore(pubsub, buckets, now),
    meters: createMemoryMeterStore(buckets, now),
    pubsub,
    rateLimiter: createMemoryRateLimiter(buckets),
    usage: createMemoryUsageStore(now),
    signIns: createMemorySignInStore(now),
  };
}

export async function createApp(config: Config, options: AppOptions): Promise<App> {
  const clock = options.clock ?? systemClock;
  const log = createLogger(config.logLevel, options.logTo);
  // PGlite is a database in files: a second process opening them would split the data silently.
  const releaseDataDir = config.databaseUrl ? undefined : await options.files.lock();
  // Before any store is opened: a secret file that stops the start leaves nothing to close.
  const licenseKeySecret = await persistentSecret(options.files, 'license-key-secret', 'LICENSE_KEY_SECRET', config.licenseKeySecret);
  const adminToken = await persistentSecret(options.files, 'admin-token', 'LEASEHOLD_ADMIN_TOKEN', config.adminToken);
  // With KMS wrapping, a local key is only kept for what it wrapped before: none is generated.
  const webhookSecretKey =
    config.kmsEncryptionKeys.length > 0
      ? (config.webhookSecretKey ?? (await options.files.read('webhook-secret-key'))?.trim())
      : (await persistentSecret(options.files, 'webhook-secret-key', 'WEBHOOK_SECRET_KEY', config.webhookSecretKey)).value;
  const localKeys: LocalKey[] = [
    ...(webhookSecretKey ? [{ version: config.webhookSecretKeyVersion, key: webhookSecretKey }] : []),
    ...config.webhookSecretKeysAccepted,
  ];
  let ownerPassword: OwnerPassword | undefined;
  const database = await openDatabase({
    url: config.databaseUrl,
    migrationUrl: config.migrationDatabaseUrl,
    pgliteDir: () => options.files.directory('pg'),
    timeoutMs: config.databaseTimeoutMs,
    connectSocket: options.network.connectSocket,
    // The owner that a first start makes (ensureFirstOrganization below), hashed meanwhile.
    whenNew: () => {
      ownerPassword = newOwnerPassword();
    },
  });
  if (database.runsAsOwner) {
    log.warn(
      'DATABASE_URL connects as the tables\' owner (or a superuser), so whoever holds it can drop the audit log\'s guards: ' +
        'give the app a role of its own and the owner to MIGRATION_DATABASE_URL (README, "Running in production")',
    );
  }
  const stores = await createStores(config, clock);
  const signer = options.signer ?? (await createSigner(config, options.files));

  const probes: Probes = { database: () => ping(database.db), seats: () => stores.seats.ping() };
  const seatOutcomes = createSeatOutcomes(log);
  const persistedOperations = loadPersistedOperations(schema, config.anonymousOperations);
  const metrics = createMetrics({
    db: database.db,
    seatOutcomes,
    knownOperations: persistedOperations.names,
    storeHealth: () => checkStores(probes),
  });

  const services: ServiceContext = {
    config,
    clock,
    db: database.db,
    seats: stores.seats,
    meters: stores.meters,
    pubsub: stores.pubsub,
    signer,
    // With KMS, the KMS signer signs access tokens too: no access-token key exists outside it.
    accessTokens: await createAccessTokens({
      signer: config.signer === 'kms' ? signer : await createLocalAccessTokenSigner({ pem: config.accessTokenKeyPem, files: options.files }),
      acceptLegacyType: config.signer !== 'kms',
      issuer: config.issuer,
      clock,
    }),
    signInSessions: createSignInSessions({ db: database.db, store: stores.signIns, clock }),
    signIns: stores.signIns,
    identityProviders: createIdentityProviders({
      providers: config.identityProviders,
      timeoutMs: config.identityProviderTimeoutMs,
      clock,
      log,
    }),
    rateLimiter: stores.rateLimiter,
    licenseKeys: await createLicenseKeys(
      { version: config.licenseKeySecretVersion, secret: licenseKeySecret.value },
      config.licenseKeySecretsAccepted,
    ),
    heartbeats: createHeartbeatBuffer(database.db),
    apiKeys: createApiKeyLookups(database.db, { ttlMs: config.apiKeyCacheMs }),
    usage: createUsageRecorder(stores.usage, database.db, clock),
    webhookSecrets: await createSecretBox(config, localKeys),
    meterUsage: createMeterUsageLog(database.db),
    seatOutcomes,
    utilization: createUtilizationLog(database.db),
    verifications: createVerificationLog(database.db, log),
    resolveHost: options.resolveHost ?? options.network.resolveHost,
    postTo: options.network.postTo,
    metrics,
    log,
  };
  services.seatOutcomes.listen((outcome) => {
    services.utilization.record(outcome);
    const refusal = refusalEntry(outcome);
    if (refusal) services.verifications.record(refusal);
  });
  const { orgId: operatorOrgId, bootstrapped } = await ensureFirstOrganization(services, config.bootstrapOwnerEmail, ownerPassword);
  const firstStartFile = bootstrapped && (await writeFirstStartCredentials(options.files, bootstrapped, log));
  const background: BackgroundJobs | undefined =
    options.background === false ? undefined : startBackgroundJobs(services, { sweeper: true });

  // Trimmed as the credential it is compared with is (a token file's or a mounted secret's newline).
  const authenticator = createAuthenticator(services, { adminToken: adminToken.value.trim(), operatorOrgId, environment: config.environment });
  const connInfo = options.connInfo ?? inProcessConnInfo;
  const graphiql = graphiqlPage('/graphql');
  const consoleFiles = await loadConsole(config.consoleDir);

  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // Yoga always answers its own health path before plugins run; move it aside so /health is ours.
    healthCheckEndpoint: '/yoga-health',
    // Yoga's own limit wraps every body in a TransformStream and halves throughput; ours is cheaper.
    maxRequestBodySize: false,
    renderGraphiQL: graphiql.render,
    // No page carries a credential: the visitor enters one in the Headers tab. Over SSE the
    // subscriptions carry those headers too (GraphiQL's WebSocket client sends none).
    graphiql: { title: 'Leasehold', subscriptionsProtocol: 'SSE' },
    cors: corsOptions(config.corsOrigins),
    plugins: guardHooks(
      [
        observability(metrics, log),
        securityHeaders({
          hsts: config.hsts,
          trustedProxies: config.trustedProxies,
          connInfo,
          routes: [graphiql.securityRoute, consoleSecurity],
        }),
        jsonPostsOnly(),
        bodyLimit(config.maxRequestBytes),
        ...queryLimitPlugins(),
        persistedOperationsPlugin(persistedOperations),
        routes(probes, signer),
        metricsRoute(metrics, config),
        consoleRoutes(consoleFiles),
        inputLimitsPlugin(),
        rateLimitPlugin(services, connInfo),
        endedCredentialsPlugin(services),
      ],
      log,
    ),
    context: graphqlContext(services, authenticator, connInfo),
    maskedErrors: { maskError: maskError(log) },
    logging: false,
  });

  return {
    yoga,
    services,
    mode: { database: database.kind, seats: stores.seats.kind, signer: `${signer.algorithm} ${config.signer}` },
    generatedAdminToken: adminToken.generated ? adminToken.value : undefined,
    bootstrapped,
    firstStartFile,
    persistedOperations,
    metrics,
    async close() {
      await background?.stop();
      if (!options.signer) await signer.close();
      await services.webhookSecrets.close();
      await stores.pubsub.close();
      await stores.seats.close();
      await database.close();
      await releaseDataDir?.();
    },
  };
}
