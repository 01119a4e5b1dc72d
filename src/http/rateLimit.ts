/**
 * Rate limits and API-key usage, in the one place that sees every operation and its outcome.
 *
 * Each operation takes a token from its caller's bucket (services/rateLimits.ts) before it
 * executes: the principal's, or for an anonymous seat operation its license's, or else the
 * client address's; one per document it can sign (http/queryLimits.ts counts them), so a
 * thousand aliases of validateLicense cost a thousand tokens, and an operation asking for more
 * signatures than a request may carry is refused with BAD_USER_INPUT. Acquire, heartbeat,
 * release and recordUsage without a credential take their license's token inside their own
 * seat (or meter) store call instead (one round trip per seat operation, one token
 * per such field); one that never reaches the store (an unknown key, a malformed session id)
 * is counted against its client address when it is done. Every GraphQL HTTP response carries
 * `X-RateLimit-Limit`, `-Remaining` and `-Reset` (Unix seconds, when the bucket is full again);
 * a refused one is a `RATE_LIMITED` GraphQL error with `extensions.retryAfter` (seconds),
 * HTTP 429 and `Retry-After`.
 *
 * A request that never reaches execution (a syntax or validation error, a credential that was
 * refused) has no known principal; it is counted against its client address's anonymous
 * bucket when its response is ready, so failed credentials are limited too.
 * GraphQL over WebSocket takes a token per operation and has no headers to carry.
 *
 * If the rate limiter's store is down the request goes through unlimited (and a warning is
 * logged): the limits protect the service, and the parts that need Redis fail on their own.
 */
import { getOperationAST, Kind, type DocumentNode, type ExecutionResult, type GraphQLSchema, type ValueNode } from 'graphql';
import { createGraphQLError, isPromise, type Plugin } from 'graphql-yoga';
import type { GraphQLContext } from '../schema/context.ts';
import type { ServiceContext } from '../services/context.ts';
import { resolveLicenseKey } from '../services/licenses/licenses.ts';
import type { Principal } from '../services/principals.ts';
import type { TakeResult } from '../stores/rateLimits/contract.ts';
import { clientAddress, type ConnInfo, type ServerContext } from './clientAddress.ts';
import { signatureCount, SIGNATURE_LIMITS } from './queryLimits.ts';
import {
  bucketSpec,
  rateLimitBucket,
  rateLimitedError,
  retryAfterSeconds,
  type RateLimitBucket,
  type RateLimitedCaller,
  type SeatRateLimit,
} from '../services/rateLimits.ts';

/** The operations of the licensed app, limited per license when called without a credential. */
const SEAT_FIELDS = new Set(['acquireSeat', 'heartbeatSeat', 'releaseSeat', 'requestCertificate', 'recordUsage', 'validateLicense']);
/** Seat fields whose seat or meter store call takes the license's token itself. */
const STORE_LIMITED_FIELDS = new Set(['acquireSeat', 'heartbeatSeat', 'releaseSeat', 'requestCertificate', 'recordUsage']);

interface Operation {
  startedAt: number;
  /** Came in over HTTP (onResponse finishes it); otherwise over WebSocket. */
  http: boolean;
  admitted: boolean;
  /** Its tokens are taken by the seat store calls of its fields. */
  limitedInStore: boolean;
  take: TakeResult | undefined;
  principal: Principal | null;
  clientIp: string;
  errors: boolean;
}

type Variables = Record<string, unknown> | null | undefined;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function licenseKeyArgument(node: ValueNode, variables: Variables): unknown {
  if (node.kind === Kind.VARIABLE) {
    const input = variables?.[node.name.value];
    return isObject(input) ? input.licenseKey : undefined;
  }
  if (node.kind !== Kind.OBJECT) return undefined;
  const field = node.fields.find((f) => f.name.value === 'licenseKey');
  if (!field) return undefined;
  if (field.value.kind === Kind.STRING) return field.value.value;
  if (field.value.kind === Kind.VARIABLE) return variables?.[field.value.name.value];
  return undefined;
}

/**
 * The license key of an operation made only of seat fields, all with the same key, and whether
 * all its fields take their tokens in the seat store; undefined for anything else (which then
 * counts against the client address).
 */
function seatOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Variables,
): { licenseKey: string; limitedInStore: boolean } | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined;
  let key: string | undefined;
  let limitedInStore = true;
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) return undefined;
    if (selection.name.value === '__typename') continue;
    if (!SEAT_FIELDS.has(selection.name.value)) return undefined;
    if (!STORE_LIMITED_FIELDS.has(selection.name.value)) limitedInStore = false;
    const input = selection.arguments?.find((a) => a.name.value === 'input');
    const value = input && licenseKeyArgument(input.value, variables);
    if (typeof value !== 'string' || (key !== undefined && key !== value)) return undefined;
    key = value;
  }
  return key === undefined ? undefined : { licenseKey: key, limitedInStore };
}

const newOperation = (http: boolean): Operation => ({
  startedAt: performance.now(),
  http,
  admitted: false,
  limitedInStore: false,
  take: undefined,
  principal: null,
  clientIp: '',
  errors: false,
});

/** A refusal in place of the whole result: no data, HTTP 429. */
function refusal(take: TakeResult): ExecutionResult {
  const error = rateLimitedError(take);
  return { errors: [createGraphQLError(error.message, { extensions: { code: error.code, ...error.extensions } })] };
}

/** An operation asking for more signed documents than one request may carry: HTTP 400. */
function tooManySignatures(signatures: number, limit: number, credentialed: boolean): ExecutionResult {
  const who = credentialed ? 'A request' : 'A request without a credential';
  const message = `This operation asks for up to ${signatures} signed documents; ${who} may ask for at most ${limit}.`;
  return { errors: [createGraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } })] };
}

export function rateLimitPlugin(services: ServiceContext, connInfo: ConnInfo): Plugin<object, ServerContext> {
  const operations = new WeakMap<Request, Operation>();
  const policy = services.config.rateLimits;
  const licenseSpec = bucketSpec(policy.license);

  const take = async (bucket: RateLimitBucket, cost = 1): Promise<TakeResult | undefined> => {
    try {
      // A cost past the bucket's capacity could never be served: it takes the whole bucket.
      return await services.rateLimiter.take(bucket.name, bucket.spec, Math.min(cost, bucket.spec.capacity));
    } catch (error) {
      services.log.warn('rate limiter unavailable; request not limited', { error: String(error) });
      return undefined;
    }
  };

  const anonymous = (clientIp: string): RateLimitedCaller => ({ kind: 'anonymous', clientIp });

  /**
   * Who the operation counts against; undefined when its seat store calls take its tokens.
   * Synchronous unless a license key has to be looked up, as every hook here is unless it has
   * a store to ask: a promise would put the rest of the request's hooks behind promises too.
   */
  const callerOf = (
    context: GraphQLContext,
    document: DocumentNode,
    operationName: string | null | undefined,
    variables: Variables,
  ): RateLimitedCaller | undefined | Promise<RateLimitedCaller> => {
    if (context.principal) return { kind: 'principal', principal: context.principal };
    const seat = seatOperation(document, operationName, variables);
    if (!seat) return anonymous(context.clientIp);
    if (seat.limitedInStore) return undefined;
    // A key this server did not issue (wrong checksum) resolves to nothing without a lookup.
    return resolveLicenseKey(services, seat.licenseKey).then(
      (license): RateLimitedCaller => (license ? { kind: 'license', licenseId: license.licenseId } : anonymous(context.clientIp)),
      () => anonymous(context.clientIp),
    );
  };

  const recordUsage = (op: Operation, status: number) => {
    const p = op.principal;
    if (p?.kind !== 'apiKey') return;
    services.usage.record({
      orgId: p.orgId,
      apiKeyId: p.keyId,
      tier: p.tier,
      clientIp: op.clientIp,
      latencyMs: performance.now() - op.startedAt,
      error: op.errors || status >= 400,
      rateLimited: status === 429,
    });
  };

  interface Admission {
    op: Operation;
    seatRateLimit?: SeatRateLimit;
    refusal: ExecutionResult | undefined;
  }

  /** Takes the caller's tokens, one per document the operation can sign, so aliases cannot multiply the work. */
  const admitAs = async (op: Operation, caller: RateLimitedCaller, signatures: number, signatureLimit: number): Promise<Admission> => {
    op.take = await take(rateLimitBucket(policy, caller), Math.max(1, signatures));
    let refused: ExecutionResult | undefined;
    if (op.take && !op.take.allowed) refused = refusal(op.take);
    else if (signatures > signatureLimit) refused = tooManySignatures(signatures, signatureLimit, Boolean(op.principal));
    if (refused) op.errors = true;
    if (refused && !op.http) recordUsage(op, op.take && !op.take.allowed ? 429 : 400);
    return { op, refusal: refused };
  };

  /**
   * Takes the operation's token, or leaves it to the seat store calls of its fields (then
   * `seatRateLimit` is what the resolvers hand them, and nothing waits); answers the refusal,
   * if any, to put in place of its result.
   */
  const admit = (
    context: GraphQLContext & { request: Request },
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | null | undefined,
    variables: Variables,
  ): Admission | Promise<Admission> => {
    let op = operations.get(context.request);
    if (!op) operations.set(context.request, (op = newOperation(false)));
    op.admitted = true;
    op.principal = context.principal ?? null;
    op.clientIp = context.clientIp;
    const admitted = op;
    const signatures = signatureCount(schema, document, operationName, variables);
    const signatureLimit = context.principal ? SIGNATURE_LIMITS.credentialed : SIGNATURE_LIMITS.anonymous;
    const decide = (found: RateLimitedCaller | undefined): Admission | Promise<Admission> => {
      const caller = !found && signatures > signatureLimit ? anonymous(context.clientIp) : found;
      if (caller) return admitAs(admitted, caller, signatures, signatureLimit);
      admitted.limitedInStore = true;
      return { op: admitted, seatRateLimit: { spec: licenseSpec, taken: (result) => (admitted.take = result) }, refusal: undefined };
    };
    const caller = callerOf(context, document, operationName, variables);
    return isPromise(caller) ? caller.then(decide) : decide(caller);
  };

  /** What is left once the operation ran: its errors counted, and over WebSocket its usage. */
  const finish = (op: Operation, result: ExecutionResult, setResult: (result: ExecutionResult) => void) => {
    if (op.limitedInStore && op.take && !op.take.allowed) setResult(refusal(op.take));
    if ('errors' in result && result.errors?.length) op.errors = true;
    if (!op.http) recordUsage(op, op.take && !op.take.allowed ? 429 : 200);
  };

  return {
    onRequestParse({ request }) {
      operations.set(request, newOperation(true));
    },

    onExecute({ args, setResultAndStopExecution, extendContext }) {
      const proceed = ({ op, seatRateLimit, refusal: refused }: Admission) => {
        if (refused) return setResultAndStopExecution(refused);
        if (seatRateLimit) extendContext({ seatRateLimit } satisfies Partial<GraphQLContext> as never);
        return {
          onExecuteDone({ result, setResult }: { result: ExecutionResult; setResult: (result: ExecutionResult) => void }) {
            // No seat store call took a token (an unknown key, a malformed session id): the address pays.
            if (op.limitedInStore && !op.take) {
              return take(rateLimitBucket(policy, anonymous(op.clientIp))).then((taken) => {
                op.take = taken;
                finish(op, result, setResult);
              });
            }
            finish(op, result, setResult);
          },
        };
      };
      const admitted = admit(args.contextValue as never, args.schema, args.document, args.operationName, args.variableValues);
      return (isPromise(admitted) ? admitted.then(proceed) : proceed(admitted)) as never;
    },

    onSubscribe({ args, setResultAndStopExecution }) {
      const proceed = ({ op, refusal: refused }: Admission) => {
        if (refused) return setResultAndStopExecution(refused);
        if (!op.http) recordUsage(op, 200);
      };
      const admitted = admit(args.contextValue as never, args.schema, args.document, args.operationName, args.variableValues);
      return (isPromise(admitted) ? admitted.then(proceed) : proceed(admitted)) as never;
    },

    onResponse({ request, response, serverContext, setResponse, fetchAPI }) {
      const op = operations.get(request);
      if (!op) return; // not a GraphQL request: health, readiness, JWKS, GraphiQL
      const answer = (answered: Response) => {
        if (op.take) {
          answered.headers.set('X-RateLimit-Limit', String(op.take.limit));
          answered.headers.set('X-RateLimit-Remaining', String(op.take.remaining));
          answered.headers.set('X-RateLimit-Reset', String(Math.ceil(op.take.resetAtMs / 1000)));
          if (!op.take.allowed) answered.headers.set('Retry-After', String(retryAfterSeconds(op.take)));
        }
        recordUsage(op, answered.status);
      };
      if (op.admitted) return answer(response);
      op.clientIp = clientAddress(connInfo, services.config.trustedProxies, request, serverContext);
      return take(rateLimitBucket(policy, { kind: 'anonymous', clientIp: op.clientIp })).then((taken) => {
        op.take = taken;
        if (!taken || taken.allowed) return answer(response);
        const error = rateLimitedError(taken);
        const refused = fetchAPI.Response.json(
          { errors: [{ message: error.message, extensions: { code: error.code, retryAfter: retryAfterSeconds(taken) } }] },
          { status: 429 },
        );
        setResponse(refused);
        answer(refused);
      });
    },
  };
}
