/**
 * An OpenID Connect issuer in the test process, with realms as Keycloak has them: each realm
 * (`http://127.0.0.1:<port>/realms/<name>`) has its own keys, discovery document, key set,
 * authorization endpoint (which signs in whoever the test says, and redirects back with a code
 * at once) and token endpoint (which checks the code's PKCE verifier). A realm's key set can be
 * made to answer 503 or never answer, as an issuer that is down does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';

export type KeySetMode = 'up' | 'unavailable' | 'hanging';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function signingKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, privateKey, publicJwk: { ...publicJwk, kid, alg: 'RS256', use: 'sig' } };
}

export interface Realm {
  issuer: string;
  /** The published key's id. */
  kid: string;
  /** The key set's requests so far. */
  keySetRequests: number;
  keySet: KeySetMode;
  /** Who the authorization endpoint signs in next: the ID token's claims beyond iss, aud, iat, exp and nonce. */
  nextSignIn: JWTPayload & { sub: string };
  /** A token of this realm, signed with its published key unless told otherwise. */
  sign(claims: JWTPayload, options?: { audience?: string; expiresIn?: string | number; key?: 'published' | 'unpublished'; kid?: string; alg?: string }): Promise<string>;
}

export interface LocalIssuer {
  origin: string;
  addRealm(name: string): Promise<Realm>;
  realm(name: string): Realm;
  close(): Promise<void>;
}

interface RealmState extends Realm {
  published: SigningKey;
  unpublished: SigningKey;
  codes: Map<string, { clientId: string; redirectUri: string; challenge: string; nonce: string | undefined; claims: JWTPayload }>;
}

const s256 = async (verifier: string) => base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function json(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export async function startLocalIssuer(): Promise<LocalIssuer> {
  const realms = new Map<string, RealmState>();
  const hanging = new Set<ServerResponse>();
  let origin = '';

  async function makeRealm(name: string): Promise<RealmState> {
    const [published, unpublished] = await Promise.all([signingKey(), signingKey()]);
    const issuer = `${origin}/realms/${name}`;
    const realm: RealmState = {
      issuer,
      kid: published.kid,
      keySetRequests: 0,
      keySet: 'up',
      nextSignIn: { sub: crypto.randomUUID() },
      published,
      unpublished,
      codes: new Map(),
      async sign(claims, options = {}) {
        const key = options.key === 'unpublished' ? unpublished : published;
        return new SignJWT(claims)
          .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? key.kid, typ: 'JWT' })
          .setIssuer(claims.iss ?? issuer)
          .setAudience(options.audience ?? 'console')
          .setIssuedAt(claims.iat ?? undefined)
          .setExpirationTime(options.expiresIn ?? '1h')
          .sign(key.privateKey);
      },
    };
    return realm;
  }

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', origin);
    const match = /^\/realms\/([^/]+)(\/.*)$/.exec(url.pathname);
    const realm = match && realms.get(match[1]!);
    if (!realm) return json(response, 404, { error: 'not_found' });
    const path = match[2];
    if (path === '/.well-known/openid-configuration') {
      return json(response, 200, {
        issuer: realm.issuer,
        authorization_endpoint: `${realm.issuer}/protocol/openid-connect/auth`,
        token_endpoint: `${realm.issuer}/protocol/openid-connect/token`,
        jwks_uri: `${realm.issuer}/protocol/openid-connect/certs`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (path === '/protocol/openid-connect/certs') {
      realm.keySetRequests++;
      if (realm.keySet === 'hanging') return void hanging.add(response);
      if (realm.keySet === 'unavailable') return json(response, 503, { error: 'unavailable' });
      return json(response, 200, { keys: [realm.published.publicJwk] });
    }
    if (path === '/protocol/openid-connect/auth') {
      const q = url.searchParams;
      const redirectUri = q.get('redirect_uri');
      if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge') || !redirectUri) {
        return json(response, 400, { error: 'invalid_request' });
      }
      const code = crypto.randomUUID();
      realm.codes.set(code, {
        clientId: q.get('client_id') ?? '',
        redirectUri,
        challenge: q.get('code_challenge')!,
        nonce: q.get('nonce') ?? undefined,
        claims: realm.nextSignIn,
      });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      if (q.get('state')) back.searchParams.set('state', q.get('state')!);
      response.writeHead(302, { location: back.href }).end();
      return;
    }
    if (path === '/protocol/openid-connect/token' && request.method === 'POST') {
      const form = await readForm(request);
      const grant = realm.codes.get(form.get('code') ?? '');
      // Single use, as RFC 6749 §4.1.2 has it.
      realm.codes.delete(form.get('code') ?? '');
      if (
        form.get('grant_type') !== 'authorization_code' ||
        !grant ||
        grant.clientId !== form.get('client_id') ||
        grant.redirectUri !== form.get('redirect_uri') ||
        grant.challenge !== (await s256(form.get('code_verifier') ?? ''))
      ) {
        return json(response, 400, { error: 'invalid_grant' });
      }
      const idToken = await realm.sign({ ...grant.claims, ...(grant.nonce ? { nonce: grant.nonce } : {}) }, { audience: grant.clientId });
      return json(response, 200, { access_token: crypto.randomUUID(), token_type: 'Bearer', expires_in: 300, id_token: idToken });
    }
    json(response, 404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    async addRealm(name) {
      const realm = await makeRealm(name);
      realms.set(name, realm);
      return realm;
    },
    realm(name) {
      const realm = realms.get(name);
      if (!realm) throw new Error(`realm ${name} was not made`);
      return realm;
    },
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
