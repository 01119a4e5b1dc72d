/**
 * The composition root: builds config → stores → services → HTTP plugins → Yoga, once.
 * Runtime-agnostic: src/runtime/* serve `app.yoga` over HTTP and WebSocket and hand in the
 * ports that differ per runtime (files, the client's address).
 */
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Config } from './config/config.ts';
import { openDatabase, ping, type DatabaseHandle } from './db/client.ts';
import { bodyLimit } from './http/bodyLimit.ts';
import { consoleRoutes, consoleSecurity, loadConsole } from './http/console.ts';
import { inProcessConnInfo, type ConnInfo, type ServerContext } from './http/clientAddress.ts';
import { corsOptions, jsonPostsOnly } from './http/crossOrigin.ts';
import { guardHooks, maskError } from './http/errorMasking.ts';
import { graphiqlPage } from './http/graphiql.ts';
import { loadPersistedOperations, persistedOperationsPlugin, type PersistedOperations } from './http/persistedOperations.ts';
import { graphqlContext } from './http/graphqlContext.ts';
import { inputLimitsPlugin } from './http/inputLimits.ts';
import { queryLimitPlugins } from './http/queryLimits.ts';
import { rateLimitPlugin } from './http/rateLimit.ts';
import { routes } from './http/routes.ts';
import { securityHeaders } from './http/securityHeaders.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { base64url } from './lib/encoding.ts';
import type { FileStore } from './lib/files.ts';
import type { Signer } from './lib/jws.ts';
import { createLogger, type Logger } from './lib/logger.ts';
import { schema } from './resolvers/index.ts';
import type { GraphQLContext } from './schema/context.ts';
import { createApiKeyLookups } from './services/apiKeys/lookups.ts';
import { startBackgroundJobs, type BackgroundJobs } from './services/background/jobs.ts';
import type { HostResolver, ServiceContext } from './services/context.ts';
import { createAuthenticator } from './services/identity/authenticate.ts';
import { ensureFirstOrganization, type Bootstrapped } from './services/identity/bootstrap.ts';
import { createLicenseKeys } from './services/licenses/licenseKeys.ts';
import { createMeterUsageLog } from './services/meters/usageLog.ts';
import { createSeatOutcomes } from './services/seats/outcomes.ts';
import { createHeartbeatBuffer } from './services/sessions/heartbeatBuffer.ts';
import { createAccessTokens } from './services/signing/accessTokens.ts';
import { createLocalSigner } from './services/signing/local.ts';
import { createUsageRecorder } from './services/usage/recording.ts';
import { createSecretBox } from './services/webhooks/secrets.ts';
import { systemResolver } from './services/webhooks/transport.ts';
import type { MeterStore } from './stores/meters/contract.ts';
import { createMemoryMeterStore } from './stores/meters/memory.ts';
import { createRedisMeterStore } from './stores/meters/redis.ts';
import type { PubSub } from './stores/pubsub/contract.ts';
import { createMemoryPubSub } from './stores/pubsub/memory.ts';
import { createRedisPubSub } from './stores/pubsub/redis.ts';
import type { RateLimiter } from './stores/rateLimits/contract.ts';
import { createMemoryRateLimiter, createTokenBuckets } from './stores/rateLimits/memory.ts';
import { createRedisRateLimiter } from './stores/rateLimits/redis.ts';
import { connectRedis } from './stores/redisConnection.ts';
import type { SeatStore } from './stores/seats/contract.ts';
import { createMemorySeatStore } from './stores/seats/memory.ts';
import { createRedisSeatStore } from './stores/seats/redis.ts';
import type { UsageStore } from './stores/usage/contract.ts';
import { createMemoryUsageStore } from './stores/usage/memory.ts';
import { createRedisUsageStore } from './stores/usage/redis.ts';

export interface AppOptions {
  files: FileStore;
  /** How this runtime tells a request's peer (default: only what the server context carries). */
  connInfo?: ConnInfo;
  /** Replaces the configured signer (tests inject a KMS signer on a fake server). */
  signer?: Signer;
  /** The services' clock (tests pin or move time through it). */
  clock?: Clock;
  /** Run the sweeper and heartbeat flush on timers (default true). */
  background?: boolean;
  /** Resolves webhook receivers' names (tests answer them; default the system's resolver). */
  resolveHost?: HostResolver;
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
  close(): Promise<void>;
}

/** Secrets that the operator did not configure are created once in the data directory. */
async function persistentSecret(
  files: FileStore,
  name: string,
  configured: string | undefined,
): Promise<{ value: string; generated: boolean }> {
  if (configured) return { value: configured, generated: false };
  const existing = await files.read(name);
  if (existing) return { value: existing.trim(), generated: false };
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

interface Stores {
  seats: SeatStore;
  meters: MeterStore;
  pubsub: PubSub;
  rateLimiter: RateLimiter;
  usage: UsageStore;
}

async function createStores(config: Config, clock: Clock): Promise<Stores> {
  if (config.redisUrl) {
    const redis = await connectRedis(config.redisUrl, { cluster: config.redisCluster });
    return {
      seats: createRedisSeatStore(redis),
      meters: createRedisMeterStore(redis),
      pubsub: createRedisPubSub(redis),
      rateLimiter: createRedisRateLimiter(redis),
      usage: createRedisUsageStore(redis),
    };
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
  };
}

export async function createApp(config: Config, options: AppOptions): Promise<App> {
  const clock = options.clock ?? systemClock;
  const log = createLogger(config.logLevel);
  // PGlite is a database in files: a second process opening them would split the data silently.
  const releaseDataDir = config.databaseUrl ? undefined : await options.files.lock();
  const database = await openDatabase({
    url: config.databaseUrl,
    pgliteDir: () => options.files.directory('pg'),
    timeoutMs: config.databaseTimeoutMs,
  });
  const stores = await createStores(config, clock);
  const signer = options.signer ?? (await createSigner(config, options.files));
  const licenseKeySecret = await persistentSecret(options.files, 'license-key-secret', config.licenseKeySecret);
  const adminToken = await persistentSecret(options.files, 'admin-token', config.adminToken);
  const webhookSecretKey = await persistentSecret(options.files, 'webhook-secret-key', config.webhookSecretKey);

  const services: ServiceContext = {
    config,
    clock,
    db: database.db,
    seats: stores.seats,
    meters: stores.meters,
    pubsub: stores.pubsub,
    signer,
    accessTokens: await createAccessTokens({ pem: config.accessTokenKeyPem, files: options.files, issuer: config.issuer, clock }),
    rateLimiter: stores.rateLimiter,
    licenseKeys: await createLicenseKeys(licenseKeySecret.value),
    heartbeats: createHeartbeatBuffer(database.db),
    apiKeys: createApiKeyLookups(database.db, { ttlMs: config.apiKeyCacheMs }),
    usage: createUsageRecorder(stores.usage, database.db, clock),
    webhookSecrets: await createSecretBox(webhookSecretKey.value),
    meterUsage: createMeterUsageLog(database.db),
    seatOutcomes: createSeatOutcomes(log),
    resolveHost: options.resolveHost ?? systemResolver,
    log,
  };
  const { orgId: operatorOrgId, bootstrapped } = await ensureFirstOrganization(services, config.bootstrapOwnerEmail);
  const firstStartFile = bootstrapped && (await writeFirstStartCredentials(options.files, bootstrapped, log));
  const background: BackgroundJobs | undefined =
    options.background === false ? undefined : startBackgroundJobs(services, { sweeper: true });

  const authenticator = createAuthenticator(services, { adminToken: adminToken.value, operatorOrgId, environment: config.environment });
  const connInfo = options.connInfo ?? inProcessConnInfo;
  const persistedOperations = loadPersistedOperations(schema, config.anonymousOperations);
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
        securityHeaders({ hsts: config.hsts, trustedProxies: config.trustedProxies, connInfo, routes: [graphiql.securityRoute, consoleSecurity] }),
        jsonPostsOnly(),
        bodyLimit(config.maxRequestBytes),
        ...queryLimitPlugins(),
        persistedOperationsPlugin(persistedOperations),
        routes({ database: () => ping(database.db), seats: () => stores.seats.ping() }, signer),
        consoleRoutes(consoleFiles),
        inputLimitsPlugin(),
        rateLimitPlugin(services, connInfo),
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
    async close() {
      await background?.stop();
      if (!options.signer) await signer.close();
      await stores.pubsub.close();
      await stores.seats.close();
      await database.close();
      await releaseDataDir?.();
    },
  };
}
