/**
 * The "yoga" floor: the least a graphql-yoga + Pothos server costs for the app's heartbeat.
 * One mutation that makes the same heartbeat call to the Redis seat store, with Yoga
 * tuned as src/app.ts tunes it: body limit off, no landing page, no logging, and two plugins
 * with the same hooks as the app's (a path switch in onRequest, a Content-Length check in
 * onRequestParse). The gap between this lane and the app's is what the app itself adds.
 *
 * A second mutation also signs a lease like the app's (the same claims, through the app's local
 * signer), so that a lane can tell the signature every heartbeat owes its client from the rest.
 *
 * With HARDENING=1 it also runs the app's own door plugins, as src/app.ts configures them: the
 * query limits (GraphQL Armor's tokens, depth, aliases, directives, cost and blocked
 * suggestions), the input limits, JSON-only POSTs, closed CORS and the security headers. The
 * same heartbeat on both floors, in the same run, is what that hardening costs per request.
 *
 * Runs on Node, Bun or Deno, served as the app is on each (node:http, Bun.serve, Deno.serve).
 *
 * Env: PORT, REDIS_URL, HARDENING.
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SchemaBuilder from '@pothos/core';
import { createYoga, type Plugin } from 'graphql-yoga';
import { connectRedis } from '../../src/stores/redisConnection.ts';
import { createRedisSeatStore } from '../../src/stores/seats/redis.ts';
import { createFileStore } from '../../src/runtime/files.ts';
import { createLocalSigner } from '../../src/services/signing/local.ts';
import { DocumentType, signToken } from '../../src/lib/jws.ts';
import { BENCH_LICENSE_BUCKET } from './licenseLimit.ts';
import { inProcessConnInfo } from '../../src/http/clientAddress.ts';
import { corsOptions, jsonPostsOnly } from '../../src/http/crossOrigin.ts';
import { inputLimitsPlugin } from '../../src/http/inputLimits.ts';
import { queryLimitPlugins } from '../../src/http/queryLimits.ts';
import { securityHeaders } from '../../src/http/securityHeaders.ts';

const seats = createRedisSeatStore(await connectRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'));
const signer = await createLocalSigner({ pem: undefined, files: createFileStore(mkdtempSync(join(tmpdir(), 'leasehold-floor-'))) });

type FloorTypes = PothosSchemaTypes.ExtendDefaultTypes<{ DefaultFieldNullability: false }>;
// No Pothos plugins here; the cast is for the option types that the app's plugins add globally.
const builder = new SchemaBuilder<{ DefaultFieldNullability: false }>({
  defaultFieldNullability: false,
} as PothosSchemaTypes.SchemaBuilderOptions<FloorTypes>);

interface Renewed {
  expiresAt: number;
  fingerprint: string;
  token?: string;
}

const RenewedType = builder.objectRef<Renewed>('Renewed').implement({
  fields: (t) => ({
    expiresAt: t.exposeFloat('expiresAt'),
    fingerprint: t.exposeString('fingerprint'),
    token: t.exposeString('token', { nullable: true }),
  }),
});

const HeartbeatInput = builder.inputType('HeartbeatInput', {
  fields: (t) => ({ licenseId: t.id({ required: true }), sessionId: t.id({ required: true }) }),
});

builder.queryType({ fields: (t) => ({ ok: t.boolean({ resolve: () => true }) }) });
const renew = async (input: { licenseId: string | number; sessionId: string | number }) => {
  const sessionId = String(input.sessionId);
  const outcome = await seats.heartbeat(String(input.licenseId), sessionId, BENCH_LICENSE_BUCKET);
  if (outcome.kind !== 'renewed') throw new Error(`heartbeat ${outcome.kind}`);
  return { sessionId, outcome };
};

builder.mutationType({
  fields: (t) => ({
    heartbeat: t.field({
      type: RenewedType,
      args: { input: t.arg({ type: HeartbeatInput, required: true }) },
      resolve: async (_root, { input }) => {
        const { outcome } = await renew(input);
        return { expiresAt: outcome.expiresAtMs, fingerprint: outcome.fingerprint };
      },
    }),
    signedHeartbeat: t.field({
      type: RenewedType,
      args: { input: t.arg({ type: HeartbeatInput, required: true }) },
      resolve: async (_root, { input }) => {
        const { sessionId, outcome } = await renew(input);
        const { token } = await signToken(signer, DocumentType.lease, {
          iss: 'leasehold-bench',
          sub: sessionId,
          lic: String(input.licenseId),
          fp: outcome.fingerprint,
          tier: outcome.terms.tier,
          features: outcome.terms.features,
          iat: Math.floor(outcome.nowMs / 1000),
          exp: Math.floor(outcome.expiresAtMs / 1000),
        });
        return { expiresAt: outcome.expiresAtMs, fingerprint: outcome.fingerprint, token };
      },
    }),
  }),
});

const health: Plugin = {
  onRequest({ url, endResponse, fetchAPI }) {
    if (url.pathname === '/health') endResponse(fetchAPI.Response.json({ status: 'ok' }));
  },
};

const contentLength: Plugin = {
  onRequestParse({ request }) {
    if (request.method === 'POST' && Number(request.headers.get('content-length')) > 1_048_576) throw new Error('too large');
  },
};

const hardened = process.env.HARDENING === '1';
// In the app's order around its own plugins: headers first, then the door, the limits last.
const hardening: Plugin[] = hardened
  ? [securityHeaders({ hsts: 'https', trustedProxies: [], connInfo: inProcessConnInfo, routes: [] }), jsonPostsOnly()]
  : [];
const limits: Plugin[] = hardened ? [...queryLimitPlugins(), inputLimitsPlugin()] : [];

const yoga = createYoga({
  schema: builder.toSchema(),
  graphqlEndpoint: '/graphql',
  landingPage: false,
  maxRequestBodySize: false,
  ...(hardened ? { cors: corsOptions([]) } : {}),
  plugins: [...hardening, health, contentLength, ...limits],
  logging: false,
});

// Served as src/runtime serves the app on each runtime, so that `--runtime bun|deno` compares like with like.
const port = Number(process.env.PORT);
const { Bun, Deno } = globalThis as {
  Bun?: { serve(options: { port: number; fetch: (request: Request) => Response | Promise<Response> }): unknown };
  Deno?: { serve(options: { port: number }, handler: (request: Request) => Response | Promise<Response>): unknown };
};
if (Bun) Bun.serve({ port, fetch: (request) => yoga.fetch(request) });
else if (Deno) Deno.serve({ port }, (request) => yoga.fetch(request));
else createServer(yoga).listen(port);
process.once('SIGTERM', () => process.exit(0));
