/**
 * The OpenID Connect providers of OIDC_PROVIDERS, asked over the network: discovery documents,
 * key sets (jose's createRemoteJWKSet: cached, refetched at most once per cooldown when a token
 * names a key it lacks) and token endpoints. Every request has OIDC_TIMEOUT_MS, so an issuer
 * that is down or hangs answers SERVICE_UNAVAILABLE within that, never a hung sign-in.
 *
 * Requests go out through `fetch` (a Web API of Node, Bun and Deno) rather than the network
 * port's pinned POST: that port exists to check where a tenant's webhook URL points, while
 * every URL here comes from the operator's configuration, never from a request, so a caller
 * cannot aim them anywhere. Redirects are not followed all the same.
 */
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { IdentityProvider } from '../../config/identityProviders.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { IdentityProviders, VerifiedIdToken } from '../context.ts';
import { err, IdTokenInvalid, IdTokenRefusal, ok, serviceUnavailable, type Result } from '../errors.ts';

/** Longer than any ID token an issuer signs (Firebase's and Keycloak's are 1–2 KB); more is not parsed. */
const ID_TOKEN_MAX_LENGTH = 16_384;
/** Clock skew forgiven between the issuer and this server. */
const CLOCK_TOLERANCE_SECONDS = 30;
/** ID tokens live an hour (Firebase, Google) to ten (Auth0's default): one older than a day is refused whatever its `exp`. */
const MAX_TOKEN_AGE = '1 day';
/** A discovery document is believed this long; a failed fetch is not remembered. */
const DISCOVERY_TTL_MS = 3_600_000;
/** Bound on what an issuer may answer; discovery documents and key sets are a few KB. */
const MAX_RESPONSE_BYTES = 1_048_576;

interface Discovery {
  authorization_endpoint?: string;
  token_endpoint?: string;
  jwks_uri?: string;
}

const refused = (reason: IdTokenRefusal, message: string) => err(new IdTokenInvalid(reason, message));

/** What jose's refusal means for the caller; undefined when it is the issuer's fault (its key set unreachable or broken). */
function refusalOf(error: unknown): { reason: IdTokenRefusal; message: string } | undefined {
  if (error instanceof errors.JWTExpired) return { reason: 'EXPIRED', message: 'The ID token has expired; sign in with the provider again.' };
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing' || error.reason === 'invalid') {
      return { reason: 'CLAIM_MISSING', message: `The ID token's "${error.claim}" claim is missing or not valid.` };
    }
    if (error.claim === 'aud') return { reason: 'AUDIENCE_MISMATCH', message: 'The ID token was issued for another client.' };
    if (error.claim === 'iss') return { reason: 'UNKNOWN_ISSUER', message: 'The ID token was issued by another provider.' };
    if (error.claim === 'nbf' || error.claim === 'iat') return { reason: 'NOT_YET_VALID', message: 'The ID token is not valid yet.' };
    return { reason: 'CLAIM_MISSING', message: `The ID token's "${error.claim}" claim is not acceptable.` };
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return { reason: 'ALGORITHM_NOT_ALLOWED', message: 'The ID token is signed with an algorithm this provider is not configured for.' };
  if (error instanceof errors.JWKSNoMatchingKey) return { reason: 'KEY_NOT_FOUND', message: "The provider's key set has no key for this ID token." };
  if (error instanceof errors.JWKSMultipleMatchingKeys) return { reason: 'KEY_NOT_FOUND', message: "The ID token names no key id, and the provider's key set has several." };
  if (error instanceof errors.JWSSignatureVerificationFailed) return { reason: 'SIGNATURE_INVALID', message: 'The ID token signature does not verify.' };
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSENotSupported) {
    return { reason: 'MALFORMED', message: 'The ID token is not a signed JWT this server can verify.' };
  }
  return undefined;
}

export function createIdentityProviders(deps: {
  providers: readonly IdentityProvider[];
  timeoutMs: number;
  clock: Clock;
  log: Logger;
  fetch?: typeof fetch;
}): IdentityProviders {
  const request = deps.fetch ?? ((input, init) => fetch(input, init));
  const discovered = new Map<string, { document: Discovery; untilMs: number }>();
  const keySets = new Map<string, JWTVerifyGetKey>();
  const unavailable = (provider: IdentityProvider, what: string, cause: unknown) => {
    deps.log.warn('identity provider unavailable', { provider: provider.id, what, error: String((cause as Error)?.message ?? cause) });
    return serviceUnavailable(`The identity provider ${provider.name}`, cause);
  };

  async function json(provider: IdentityProvider, what: string, url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
    try {
      const response = await request(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(deps.timeoutMs) });
      const length = Number(response.headers.get('content-length') ?? 0);
      if (length > MAX_RESPONSE_BYTES) throw new Error(`answered ${length} bytes`);
      const text = await response.text();
      if (text.length > MAX_RESPONSE_BYTES) throw new Error(`answered ${text.length} bytes`);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: response.status, body };
    } catch (cause) {
      throw unavailable(provider, what, cause);
    }
  }

  async function discovery(provider: IdentityProvider): Promise<Discovery> {
    const cached = discovered.get(provider.id);
    if (cached && cached.untilMs > deps.clock.now()) return cached.document;
    const url = `${provider.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const { status, body } = await json(provider, 'discovery', url, { headers: { accept: 'application/json' } });
    const document = body as (Discovery & { issuer?: unknown }) | undefined;
    // OpenID Connect Discovery §4.3: a document naming another issuer is not this issuer's.
    if (status !== 200 || !document || typeof document !== 'object' || document.issuer !== provider.issuer) {
      throw unavailable(provider, 'discovery', new Error(`discovery answered ${status} without this issuer's document`));
    }
    discovered.set(provider.id, { document, untilMs: deps.clock.now() + DISCOVERY_TTL_MS });
    return document;
  }

  async function endpoint(provider: IdentityProvider, name: keyof Discovery): Promise<string> {
    const value = (await discovery(provider))[name];
    if (typeof value !== 'string' || !/^https?:\/\//.test(value)) {
      throw unavailable(provider, 'discovery', new Error(`the discovery document has no ${name}`));
    }
    return value;
  }

  async function keySet(provider: IdentityProvider): Promise<JWTVerifyGetKey> {
    const known = keySets.get(provider.id);
    if (known) return known;
    const uri = provider.jwksUri ?? (await endpoint(provider, 'jwks_uri'));
    const keys = createRemoteJWKSet(new URL(uri), { timeoutDuration: deps.timeoutMs, [customFetch]: request });
    keySets.set(provider.id, keys);
    return keys;
  }

  return {
    async verify(idToken, expect = {}): Promise<Result<VerifiedIdToken, IdTokenInvalid>> {
      if (idToken.length > ID_TOKEN_MAX_LENGTH) return refused('MALFORMED', 'The ID token is longer than any ID token.');
      let algorithm: string | undefined;
      let unverified: JWTPayload;
      try {
        algorithm = decodeProtectedHeader(idToken).alg;
        unverified = decodeJwt(idToken);
      } catch {
        return refused('MALFORMED', 'The ID token is not a JWT.');
      }
      // The issuer picks the provider, so a token is checked only against the keys of the issuer it names.
      const provider = deps.providers.find((p) => p.issuer === unverified.iss);
      if (!provider || (expect.provider && provider !== expect.provider)) {
        return refused('UNKNOWN_ISSUER', 'The ID token was issued by a provider this server does not accept.');
      }
      // Before any key is fetched: `none`, an HMAC or any algorithm not configured costs no request.
      if (!algorithm || !provider.algorithms.includes(algorithm)) {
        return refused('ALGORITHM_NOT_ALLOWED', 'The ID token is signed with an algorithm this provider is not configured for.');
      }
      const keys = await keySet(provider);
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(idToken, keys, {
          issuer: provider.issuer,
          audience: provider.audiences,
          algorithms: provider.algorithms,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          maxTokenAge: MAX_TOKEN_AGE,
          currentDate: new Date(deps.clock.now()),
          requiredClaims: ['sub', 'exp', 'iat'],
        }));
      } catch (error) {
        const refusal = refusalOf(error);
        if (refusal) return refused(refusal.reason, refusal.message);
        throw unavailable(provider, 'key set', error);
      }
      if (typeof claims.sub !== 'string' || claims.sub === '' || claims.sub.length > 255) {
        return refused('CLAIM_MISSING', 'The ID token\'s "sub" claim is missing or not valid.');
      }
      if (expect.nonce !== undefined && claims.nonce !== expect.nonce) {
        return refused('NONCE_MISMATCH', 'The ID token does not carry the nonce this sign-in sent.');
      }
      return ok({ provider, subject: claims.sub, claims });
    },

    authorizationEndpoint: (provider) => endpoint(provider, 'authorization_endpoint'),

    async exchangeCode(provider, input) {
      const client = provider.console;
      if (!client) return refused('CODE_REFUSED', `${provider.name} has no console sign-in configured.`);
      const form = new URLSearchParams({
        grant_type: 'authorization_code',
        code: input.code,
        redirect_uri: input.redirectUri,
        client_id: client.clientId,
        code_verifier: input.codeVerifier,
      });
      // client_secret_post: a confidential client (Google's web clients) proves itself here, on the server, never in the page.
      if (client.clientSecret) form.set('client_secret', client.clientSecret);
      const { status, body } = await json(provider, 'token endpoint', await endpoint(provider, 'token_endpoint'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
      });
      const answer = (body ?? {}) as { id_token?: unknown; error?: unknown };
      if (status === 200 && typeof answer.id_token === 'string') return ok(answer.id_token);
      if (status >= 400 && status < 500) {
        // RFC 6749 §5.2 error codes are short ASCII words; anything else of the provider's is not repeated.
        const code = typeof answer.error === 'string' && /^[\x20-\x7e]{1,64}$/.test(answer.error) ? ` (${answer.error})` : '';
        return refused('CODE_REFUSED', `${provider.name} refused the authorization code${code}; sign in again.`);
      }
      throw unavailable(provider, 'token endpoint', new Error(`the token endpoint answered ${status}${status === 200 ? ' without an id_token' : ''}`));
    },
  };
}
