/**
 * Dashboard access tokens: EdDSA (Ed25519) JWTs with a key of their own, apart from the key
 * that signs leases, so rotating one never invalidates the other. Verification pins the
 * algorithm, issuer, audience and key id: `alg: none`, HS256 made with the public key, or a
 * token from another key are refused.
 */
import { jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { loadOrCreateKey } from './keyFile.ts';
import type { FileStore } from '../../lib/files.ts';
import type { Clock } from '../../lib/clock.ts';
import type { AccessClaims, AccessTokens } from '../context.ts';

export const ACCESS_TOKEN_AUDIENCE = 'leasehold-api';
export const ACCESS_TOKEN_TTL_SECONDS = 3600;

export async function createAccessTokens(options: {
  pem?: string | undefined;
  files: FileStore;
  issuer: string;
  clock: Clock;
}): Promise<AccessTokens> {
  const { privateKey, publicJwk, keyId } = await loadOrCreateKey({
    pem: options.pem,
    files: options.files,
    fileName: 'access-token-key.pem',
    accept: ['EdDSA'],
    name: 'ACCESS_TOKEN_KEY_PEM',
  });
  const publicKey = await crypto.subtle.importKey('jwk', publicJwk, { name: 'Ed25519' }, false, ['verify']);

  return {
    async issue(claims) {
      const now = Math.floor(options.clock.now() / 1000);
      const token = await new SignJWT({ org: claims.org, roles: claims.roles })
        .setProtectedHeader({ alg: 'EdDSA', kid: keyId, typ: 'JWT' })
        .setSubject(claims.sub)
        .setIssuer(options.issuer)
        .setAudience(ACCESS_TOKEN_AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + ACCESS_TOKEN_TTL_SECONDS)
        .sign(privateKey);
      return { token, expiresAt: new Date((now + ACCESS_TOKEN_TTL_SECONDS) * 1000) };
    },
    async verify(token) {
      try {
        const { payload, protectedHeader } = await jwtVerify(token, publicKey, {
          algorithms: ['EdDSA'],
          currentDate: new Date(options.clock.now()),
          issuer: options.issuer,
          audience: ACCESS_TOKEN_AUDIENCE,
          requiredClaims: ['sub', 'exp', 'iat'],
        });
        if (protectedHeader.kid !== keyId) return undefined;
        if (typeof payload.org !== 'string' || !Array.isArray(payload.roles)) return undefined;
        return payload as AccessClaims & JWTPayload;
      } catch {
        return undefined;
      }
    },
  };
}
