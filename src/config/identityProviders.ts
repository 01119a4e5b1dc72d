/**
 * The OpenID Connect providers whose ID tokens sign dashboard users in (`OIDC_PROVIDERS`), as
 * operators configure them: a JSON array, one object per issuer. Parsed once at start by
 * config.ts; services/identity/idTokens.ts verifies tokens against them and singleSignOn.ts maps
 * their claims to a user and an organization. Issuers, key-set and token URLs come only from
 * here, never from a request, which is why fetching them needs no SSRF check.
 */

export type ProviderRole = 'owner' | 'admin' | 'member' | 'viewer';

/** Which organization a verified token belongs to. */
export type OrganizationMapping =
  /** Every user of the issuer is in this one organization. */
  | { kind: 'fixed'; orgId: string }
  /** The claim at `claim` (a dotted path; a string, or a list of strings) names the organization through `map`. */
  | { kind: 'claim'; claim: string; map: Record<string, string> };

export interface IdentityProvider {
  /** Short name, in the console's URLs and the audit log: a-z, 0-9 and -, at most 32. */
  id: string;
  /** What the sign-in page says: "Sign in with <name>". */
  name: string;
  /** The exact `iss` of its tokens (and the base of its discovery document). */
  issuer: string;
  /** Accepted `aud` values (client ids, or the Firebase project id); a token must carry one. */
  audiences: string[];
  /** The key set's URL; undefined = `jwks_uri` of `${issuer}/.well-known/openid-configuration`. */
  jwksUri: string | undefined;
  /** Signature algorithms accepted (never `none`, never an HMAC: the key set is public). */
  algorithms: string[];
  organization: OrganizationMapping;
  /** The claim holding the user's email. */
  emailClaim: string;
  /** Lower-cased domains an email must be at; empty = any. */
  emailDomains: string[];
  /** Refuse tokens whose `email_verified` is not true. */
  requireVerifiedEmail: boolean;
  /** The role of a user signing in for the first time, made then; null = only users linked or made beforehand. */
  newUserRole: ProviderRole | null;
  /** A first sign-in may link to the user of the mapped organization with the same (verified) email. */
  linkByEmail: boolean;
  /** The console's redirect (authorization code + PKCE) flow; undefined = ID tokens only. */
  console: { clientId: string; clientSecret: string | undefined; scopes: string[] } | undefined;
}

const ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
const ROLES: readonly ProviderRole[] = ['owner', 'admin', 'member', 'viewer'];
/** Public-key algorithms jose verifies on every runtime. HS* would make the public key set a shared secret; `none` is no signature. */
const SIGNATURE_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const KEYS = [
  'id',
  'name',
  'issuer',
  'audience',
  'jwksUri',
  'algorithms',
  'organization',
  'emailClaim',
  'emailDomains',
  'requireVerifiedEmail',
  'newUserRole',
  'linkByEmail',
  'console',
];
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https, or http on loopback (a Keycloak on the operator's machine, the tests' issuer). */
function endpoint(value: unknown, where: string): string {
  let parsed: URL | undefined;
  try {
    parsed = typeof value === 'string' ? new URL(value) : undefined;
  } catch {}
  if (!parsed) throw new Error(`${where}: expected a URL, got ${JSON.stringify(value)}`);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && LOOPBACK.has(parsed.hostname))) {
    throw new Error(`${where}: expected an https URL (http only on loopback), got ${parsed.protocol}`);
  }
  if (parsed.username || parsed.password) throw new Error(`${where}: must not carry credentials`);
  return value as string;
}

function text(value: unknown, where: string, max = 512): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) {
    throw new Error(`${where}: expected a non-empty string of at most ${max} characters`);
  }
  return value;
}

function strings(value: unknown, where: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) throw new Error(`${where}: expected a string or a non-empty list of strings`);
  return list.map((v, i) => text(v, `${where}[${i}]`));
}

function bool(value: unknown, where: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new Error(`${where}: expected true or false`);
  return value;
}

function organization(value: unknown, where: string): OrganizationMapping {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${where}: expected { "id": "org_…" } or { "claim": "…", "map": { "<claim value>": "org_…" } }`);
  }
  const { id, claim, map, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new Error(`${where}: unknown ${Object.keys(rest).join(', ')}`);
  if (id !== undefined && claim === undefined && map === undefined) return { kind: 'fixed', orgId: text(id, `${where}.id`) };
  if (id === undefined && claim !== undefined) {
    if (!map || typeof map !== 'object' || Array.isArray(map) || Object.keys(map).length === 0) {
      throw new Error(`${where}.map: expected an object from claim values to organization ids`);
    }
    const entries = Object.entries(map as Record<string, unknown>).map(([k, v]) => [k, text(v, `${where}.map.${k}`)] as const);
    return { kind: 'claim', claim: text(claim, `${where}.claim`, 128), map: Object.fromEntries(entries) };
  }
  throw new Error(`${where}: give either "id" or "claim" with "map"`);
}

function consoleFlow(value: unknown, where: string, audiences: string[]): IdentityProvider['console'] {
  if (value === undefined) return undefined;
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: expected { "clientId": "…" }`);
  const { clientId, clientSecret, scopes, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new Error(`${where}: unknown ${Object.keys(rest).join(', ')}`);
  const id = text(clientId, `${where}.clientId`);
  // The token the exchange answers is verified like any other: its audience is this client.
  if (!audiences.includes(id)) throw new Error(`${where}.clientId: must be one of the provider's audiences`);
  const list = scopes === undefined ? ['openid', 'email', 'profile'] : strings(scopes, `${where}.scopes`);
  if (!list.includes('openid')) throw new Error(`${where}.scopes: must include openid`);
  return { clientId: id, clientSecret: clientSecret === undefined ? undefined : text(clientSecret, `${where}.clientSecret`), scopes: list };
}

function provider(value: unknown, where: string): IdentityProvider {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: expected an object`);
  const raw = value as Record<string, unknown>;
  const extra = Object.keys(raw).filter((key) => !KEYS.includes(key));
  if (extra.length > 0) throw new Error(`${where}: unknown ${extra.join(', ')} (expected ${KEYS.join(', ')})`);
  const id = text(raw.id, `${where}.id`);
  if (!ID.test(id)) throw new Error(`${where}.id: "${id}" is not a provider id (a-z, 0-9 and -, at most 32)`);
  const audiences = strings(raw.audience, `${where}.audience`);
  const algorithms = raw.algorithms === undefined ? ['RS256'] : strings(raw.algorithms, `${where}.algorithms`);
  for (const alg of algorithms) {
    if (!SIGNATURE_ALGORITHMS.includes(alg)) {
      throw new Error(`${where}.algorithms: "${alg}" is not allowed (expected some of ${SIGNATURE_ALGORITHMS.join(', ')})`);
    }
  }
  const role = raw.newUserRole;
  if (role !== undefined && role !== null && !ROLES.includes(role as ProviderRole)) {
    throw new Error(`${where}.newUserRole: expected one of ${ROLES.join(', ')}, or null`);
  }
  return {
    id,
    name: raw.name === undefined ? id : text(raw.name, `${where}.name`, 64),
    issuer: endpoint(raw.issuer, `${where}.issuer`),
    audiences,
    jwksUri: raw.jwksUri === undefined ? undefined : endpoint(raw.jwksUri, `${where}.jwksUri`),
    algorithms,
    organization: organization(raw.organization, `${where}.organization`),
    emailClaim: raw.emailClaim === undefined ? 'email' : text(raw.emailClaim, `${where}.emailClaim`, 128),
    emailDomains: raw.emailDomains === undefined ? [] : strings(raw.emailDomains, `${where}.emailDomains`).map((d) => d.toLowerCase()),
    requireVerifiedEmail: bool(raw.requireVerifiedEmail, `${where}.requireVerifiedEmail`, true),
    newUserRole: (role as ProviderRole | null | undefined) ?? null,
    linkByEmail: bool(raw.linkByEmail, `${where}.linkByEmail`, false),
    console: consoleFlow(raw.console, `${where}.console`, audiences),
  };
}

/** Reads the `OIDC_PROVIDERS` JSON; throws an Error naming the faulty entry (config.ts wraps it in a ConfigError). */
export function parseIdentityProviders(json: string | undefined): IdentityProvider[] {
  if (json === undefined || json.trim() === '') return [];
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('not valid JSON');
  }
  if (!Array.isArray(raw)) throw new Error('expected a JSON array of providers');
  const providers = raw.map((p, i) => provider(p, `[${i}]`));
  for (const [i, p] of providers.entries()) {
    // A token is matched to its provider by `iss`: two entries for one issuer would make that ambiguous.
    if (providers.findIndex((q) => q.issuer === p.issuer) !== i) throw new Error(`[${i}].issuer: ${p.issuer} is configured twice`);
    if (providers.findIndex((q) => q.id === p.id) !== i) throw new Error(`[${i}].id: "${p.id}" is configured twice`);
  }
  return providers;
}
