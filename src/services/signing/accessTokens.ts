/**
 * Dashboard access tokens: JWTs of type `at+jwt` (RFC 9068), built by the one signing path every
 * signed document takes (lib/jws.ts `signToken`). With `SIGNER=kms` the KMS signer signs them, so
 * no private key for them exists outside KMS and every instance verifies them against the same
 * published keys (rotation included: a key version still listed verifies what it signed). With the
 * local signer they have an Ed25519 key of their own (ACCESS_TOKEN_KEY_PEM or the data directory),
 * apart from the key that signs leases, so rotating one never invalidates the other.
 *
 * Verification pins the algorithms of the published keys, the key id (only a published key),
 * the issuer, the audience and the type: `alg: none`, HS256 made with a public key, a token of
 * another key, or a lease, certificate or validation answer signed by the same KMS key are refused.
 * While signing locally, `typ: JWT` passes too: that is what tokens issued before the type
 * carried, and that key signs nothing else.
 */
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../../lib/clock.ts';
import type { FileStore } from '../../lib/files.ts';
import { DocumentType, SignerUnavailableError, signToken, type Signer, type SignedToken } from '../../lib/jws.ts';
import type { AccessClaims, AccessTokens } from '../context.ts';
import { serviceUnavailable } from '../errors.ts';
import { loadOrCreateKey } from './keyFile.ts';
import { signerOfKey } from './local.ts';

export const ACCESS_TOKEN_AUDIENCE = 'leasehold-api';
export const ACCESS_TOKEN_TTL_SECONDS = 3600;

/** The local access-token signer: ACCESS_TOKEN_KEY_PEM, or the data directory's key, made on first start. */
export async function createLocalAccessTokenSigner(options: { pem: string | undefined; files: FileStore }): Promise<Signer> {
  return signerOfKey(
    await loadOrCreateKey({
      pem: options.pem,
      files: options.files,
      fileName: 'access-token-key.pem',
      accept: ['EdDSA'],
      name: 'ACCESS_TOKEN_KEY_PEM',
    }),
  );
}

/** `signer`: the KMS signer when KMS signs, the local access-token signer otherwise (`acceptLegacyType` then). */
export async function createAccessTokens(options: {
  signer: Signer;
  /** Accept `typ: JWT`, the tokens of before the type: only for a key that signs nothing else. */
  acceptLegacyType: boolean;
  issuer: string;
  clock: Clock;
}): Promise<AccessTokens> {
  const { signer, issuer, clock } = options;
  const published = await signer.publicJwks();
  const keys = createLocalJWKSet({ keys: published });
  const algorithms = [...new Set(published.map((jwk) => jwk.alg!))];
  const types = options.acceptLegacyType ? [DocumentType.accessToken, 'JWT'] : [DocumentType.accessToken];

  return {
    async issue(claims) {
      const now = Math.floor(clock.now() / 1000);
      let signed: SignedToken;
      try {
        signed = await signToken(signer, DocumentType.accessToken, {
          org: claims.org,
          roles: claims.roles,
          sid: claims.sid,
          sub: claims.sub,
          iss: issuer,
          aud: ACCESS_TOKEN_AUDIENCE,
          iat: now,
          exp: now + ACCESS_TOKEN_TTL_SECONDS,
        });
      } catch (error) {
        // KMS down: no sign-in can be completed, and the caller is told so, not shown a crash.
        if (error instanceof SignerUnavailableError) throw serviceUnavailable('The signing service', error);
        throw error;
      }
      const { token } = signed;
      return { token, expiresAt: new Date((now + ACCESS_TOKEN_TTL_SECONDS) * 1000) };
    },
    async verify(token) {
      try {
        const { payload, protectedHeader } = await jwtVerify(token, keys, {
          algorithms,
          currentDate: new Date(clock.now()),
          issuer,
          audience: ACCESS_TOKEN_AUDIENCE,
          requiredClaims: ['sub', 'exp', 'iat'],
        });
        if (!types.includes(protectedHeader.typ ?? '')) return undefined;
        if (typeof payload.org !== 'string' || !Array.isArray(payload.roles) || typeof payload.sid !== 'string') return undefined;
        return payload as AccessClaims & JWTPayload;
      } catch {
        return undefined;
      }
    },
  };
}
