/**
 * Who is calling, and what they may do. Every credential resolves to a principal of one
 * organization with a set of scopes: API keys carry theirs, users get them from their role,
 * and the operator's root token has them all.
 */
export const SCOPES = [
  'licenses:read',
  'licenses:write',
  'seats:admin',
  'apikeys:read',
  'apikeys:write',
  'webhooks:read',
  'webhooks:write',
  'audit:read',
  'usage:read',
  'users:write',
] as const;
export type Scope = (typeof SCOPES)[number];

export type Role = 'owner' | 'admin' | 'member' | 'viewer';

const READ: Scope[] = ['licenses:read', 'apikeys:read', 'webhooks:read', 'audit:read', 'usage:read'];

export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  owner: SCOPES,
  admin: SCOPES,
  member: [...READ, 'licenses:write', 'seats:admin', 'webhooks:write'],
  viewer: READ,
};

export type Principal =
  | { kind: 'operator'; orgId: string; scopes: readonly Scope[] }
  /** `sessionId`: the sign-in the access token belongs to (its `sid`). */
  | { kind: 'user'; orgId: string; userId: string; role: Role; scopes: readonly Scope[]; sessionId: string }
  | {
      kind: 'apiKey';
      orgId: string;
      keyId: string;
      /** The hash of the secret it authenticated with (never the secret): a subscription asks again whether it holds. */
      secretHash: string;
      environment: 'live' | 'test';
      tier: string;
      scopes: readonly Scope[];
    };

export const isScope = (value: string): value is Scope => (SCOPES as readonly string[]).includes(value);

export function principalId(p: Principal): string | null {
  return p.kind === 'user' ? p.userId : p.kind === 'apiKey' ? p.keyId : null;
}
