/**
 * The composition root: builds the stores, signer and services once, and the Yoga app that
 * serves them. Runtime-agnostic: src/runtime/* serve `app.yoga` over HTTP and WebSocket.
 */
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createGraphQLError, createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Config } from './config/config.ts';
import { openDatabase, ping, type DatabaseHandle } from './db/client.ts';
import { connectRedis } from './stores/redisConnection.ts';
import { createMemorySeatStore } from './stores/seats/memory.ts';
import type { PubSub } from './stores/pubsub/contract.ts';
import { createMemoryPubSub } from './stores/pubsub/memory.ts';
import { createRedisPubSub } from './stores/pubsub/redis.ts';
import { createRedisSeatStore } from './stores/seats/redis.ts';
import type { SeatStore } from './stores/seats/contract.ts';
import type { RateLimiter } from './stores/rateLimits/contract.ts';
import { createRedisRateLimiter } from './stores/rateLimits/redis.ts';
import { createMemoryRateLimiter, createTokenBuckets } from './stores/rateLimits/memory.ts';
import { createMemoryUsageStore } from './stores/usage/memory.ts';
import { createRedisUsageStore } from './stores/usage/redis.ts';
import type { UsageStore } from './stores/usage/contract.ts';
import { rateLimitPlugin } from './http/rateLimit.ts';
import { createApiKeyLookups } from './services/apiKeys/management.ts';
import { createUsageRecorder } from './services/usage/recording.ts';
import { schema } from './resolvers/index.ts';
import { peerAddress, type GraphQLContext, type ServerContext } from './schema/context.ts';
import { startBackgroundJobs, type BackgroundJobs } from './services/background.ts';
import type { Actor, ServiceContext } from './services/context.ts';
import { RequestError } from './services/errors.ts';
import type { FileStore } from './lib/files.ts';
import { createHeartbeatBuffer } from './services/sessions/heartbeatBuffer.ts';
import { base64url } from './lib/encoding.ts';
import { createLicenseKeys } from './services/licenses/licenseKeys.ts';
import { createAuthenticator } from './services/identity/authenticate.ts';
import { clientIpFrom } from './lib/ipAddress.ts';
import { principalId } from './services/principals.ts';
import { createAccessTokens } from './services/signing/accessTokens.ts';
import { ensureFirstOrganization, type Bootstrapped } from './services/identity/bootstrap.ts';
import { createLogger } from './lib/logger.ts';
import { createLocalSigner } from './services/signing/local.ts';
import { createSecretBox } from './services/webhooks/secrets.ts';
import type { Signer } from './lib/jws.ts';

export interface AppOptions {
  files: FileStore;
  /** Replaces the configured signer (tests inject a KMS signer on a fake server). */
  signer?: Signer;
  /** Run the sweeper and heartbeat flush on timers (default true). */
  background?: boolean;
}

export interface App {
  yoga: YogaServerInstance<ServerContext, GraphQLContext>;
  services: ServiceContext;
  /** Where the data lives, for the start-up banner. */
  mode: { database: DatabaseHandle['kind']; seats: SeatStore['kind']; signer: string };
  /** The operator's root credential when it was generated here (never logged by the app itself). */
  generatedAdminToken: string | undefined;
  /** What the first start of an empty database created, to be shown once. */
  bootstrapped: Bootstrapped | undefined;
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

async function createSigner(config: Config, files: FileStore): Promise<Signer> {
  if (config.signer === 'kms') {
    const { createKmsSigner } = await import('./services/signing/kms.ts');
    return createKmsSigner({ keyVersions: config.kmsKeyVersions, endpoint: config.kmsEndpoint });
  }
  return createLocalSigner({ pem: config.signingKeyPem, files });
}

export async function createApp(config: Config, options: AppOptions): Promise<App> {
  const log = createLogger(config.logLevel);
  const database = await openDatabase({ url: config.databaseUrl, pgliteDir: () => options.files.directory('pg') });
  let seats: SeatStore;
  let pubsub: PubSub;
  let rateLimiter: RateLimiter;
  let usageStore: UsageStore;
  if (config.redisUrl) {
    const redis = await connectRedis(config.redisUrl, { cluster: config.redisCluster });
    seats = createRedisSeatStore(redis);
    pubsub = createRedisPubSub(redis);
    rateLimiter = createRedisRateLimiter(redis);
    usageStore = createRedisUsageStore(redis);
  } else {
    pubsub = createMemoryPubSub();
    // One set of buckets: the seat store takes license tokens from the ones the rate limiter fills.
    const buckets = createTokenBuckets();
    seats = createMemorySeatStore(pubsub, buckets);
    rateLimiter = createMemoryRateLimiter(buckets);
    usageStore = createMemoryUsageStore();
  }
  const signer = options.signer ?? (await createSigner(config, options.files));
  const licenseKeySecret = await persistentSecret(options.files, 'license-key-secret', config.licenseKeySecret);
  const adminToken = await persistentSecret(options.files, 'admin-token', config.adminToken);
  const webhookSecretKey = await persistentSecret(options.files, 'webhook-secret-key', config.webhookSecretKey);

  const services: ServiceContext = {
    config,
    db: database.db,
    seats,
    pubsub,
    signer,
    accessTokens: await createAccessTokens({ pem: config.accessTokenKeyPem, files: options.files, issuer: config.issuer }),
    rateLimiter,
    licenseKeys: await createLicenseKeys(licenseKeySecret.value),
    heartbeats: createHeartbeatBuffer(database.db),
    apiKeys: createApiKeyLookups(database.db, { ttlMs: config.apiKeyCacheMs }),
    usage: createUsageRecorder(usageStore, database.db),
    webhookSecrets: await createSecretBox(webhookSecretKey.value),
    log,
  };
  const { orgId: operatorOrgId, bootstrapped } = await ensureFirstOrganization(services, config.bootstrapOwnerEmail);
  // Embedded mode is one person's local server: GraphiQL opens with the bootstrap key filled in.
  if (bootstrapped && database.kind === 'pglite') await options.files.writeSecret('graphiql-api-key', bootstrapped.apiKey);
  const graphiqlKey = database.kind === 'pglite' ? (await options.files.read('graphiql-api-key'))?.trim() : undefined;
  const background: BackgroundJobs | undefined =
    options.background === false ? undefined : startBackgroundJobs(services, { sweeper: true });

  const authenticator = createAuthenticator(services, { adminToken: adminToken.value, operatorOrgId, environment: config.environment });

  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // Yoga always answers its own health path before plugins run; move it aside so /health is ours.
    healthCheckEndpoint: '/yoga-health',
    // Yoga's own limit wraps every body in a TransformStream and halves throughput; ours is cheaper.
    maxRequestBodySize: false,
    renderGraphiQL,
    graphiql: {
      title: 'Leasehold',
      subscriptionsProtocol: 'WS',
      ...(graphiqlKey ? { headers: JSON.stringify({ Authorization: `Bearer ${graphiqlKey}` }) } : {}),
    },
    plugins: [bodyLimit(config.maxRequestBytes), routes(services, database), rateLimitPlugin(services)],
    context: async (serverContext: ServerContext & { request: Request; connectionParams?: Record<string, unknown> }) => {
      const { request, connectionParams } = serverContext;
      const requestId = request.headers.get('x-request-id')?.slice(0, 64) || crypto.randomUUID();
      const clientIp = clientIpFrom(peerAddress(request, serverContext) ?? '', request.headers.get('x-forwarded-for'), config.trustedProxies);
      const authorization = (connectionParams?.authorization as string | undefined) ?? request.headers.get('authorization');
      const principal = await authenticator.authenticate(authorization, clientIp);
      const actor: Actor | null = principal && { type: principal.kind, id: principalId(principal), orgId: principal.orgId, requestId };
      return { services, requestId, clientIp, principal, actor };
    },
    maskedErrors: {
      maskError(error, message) {
        // Walk by property, not instanceof: graphql may be loaded twice (ESM and CJS copies).
        let original: unknown = error;
        while (original instanceof Object && 'originalError' in original && original.originalError) original = original.originalError;
        if (original instanceof RequestError) {
          return createGraphQLError(original.message, {
            extensions: {
              code: original.code,
              ...original.extensions,
              ...(original.code === 'UNAUTHENTICATED' ? { http: { status: 401 } } : {}),
            },
          });
        }
        if (original instanceof Error && original.name === 'GraphQLError') {
          // Errors graphql-js raises about the request itself (bad variables, unknown fields) carry no code.
          const graphqlError = original as Error & { extensions?: Record<string, unknown> };
          if (graphqlError.extensions?.code) return graphqlError;
          return createGraphQLError(graphqlError.message, {
            ...graphqlError,
            extensions: { ...graphqlError.extensions, code: 'BAD_USER_INPUT' },
          });
        }
        log.error('unexpected error', { error: String(original), stack: (original as Error | undefined)?.stack });
        return createGraphQLError(message, { extensions: { code: 'INTERNAL' } });
      },
    },
    logging: false,
  });

  return {
    yoga,
    services,
    mode: { database: database.kind, seats: seats.kind, signer: `${signer.algorithm} ${config.signer}` },
    generatedAdminToken: adminToken.generated ? adminToken.value : undefined,
    bootstrapped,
    async close() {
      await background?.stop();
      if (!options.signer) await signer.close();
      await pubsub.close();
      await seats.close();
      await database.close();
    },
  };
}

/** /health, /ready and /.well-known/jwks.json, answered before GraphQL sees the request. */
function routes(services: ServiceContext, database: DatabaseHandle): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      const json = (body: unknown, init?: ResponseInit) => fetchAPI.Response.json(body, init);
      switch (url.pathname) {
        case '/health':
          return endResponse(json({ status: 'ok' }));
        case '/ready': {
          const checks = await Promise.allSettled([ping(database.db), services.seats.ping()]);
          const [db, seats] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : 'unavailable'));
          const ready = db === 'ok' && seats === 'ok';
          return endResponse(json({ status: ready ? 'ready' : 'unavailable', database: db, seats }, { status: ready ? 200 : 503 }));
        }
        case '/.well-known/jwks.json':
          return endResponse(json({ keys: await services.signer.publicJwks() }, { headers: { 'cache-control': 'public, max-age=300' } }));
      }
    },
  };
}

/** Refuses bodies over the limit: by Content-Length when given, else by counting while reading. */
function bodyLimit(maxBytes: number): Plugin {
  const tooLarge = () =>
    createGraphQLError(`The request body exceeds ${maxBytes} bytes.`, { extensions: { code: 'BAD_USER_INPUT', http: { status: 413 } } });
  return {
    onRequestParse({ request, setRequestParser }) {
      if (request.method !== 'POST') return;
      const length = request.headers.get('content-length');
      if (length !== null) {
        if (Number(length) > maxBytes) throw tooLarge();
        return;
      }
      setRequestParser(async (req) => {
        const reader = req.body?.getReader();
        const chunks: Uint8Array[] = [];
        let total = 0;
        for (;;) {
          const chunk = await reader?.read();
          if (!chunk || chunk.done) break;
          total += chunk.value.byteLength;
          if (total > maxBytes) {
            await reader?.cancel();
            throw tooLarge();
          }
          chunks.push(chunk.value);
        }
        const body = new Uint8Array(total);
        let offset = 0;
        for (const c of chunks) {
          body.set(c, offset);
          offset += c.byteLength;
        }
        try {
          return JSON.parse(new TextDecoder().decode(body));
        } catch {
          throw createGraphQLError('The request body is not valid JSON.', {
            extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
          });
        }
      });
    },
  };
}
