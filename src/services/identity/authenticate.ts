/**
 * Turns an `Authorization: Bearer …` credential into a principal: the operator's root token,
 * an API key (`pk_live_…` / `pk_test_…`), or a dashboard user's access token. No header means
 * an anonymous caller; a header that is not a valid credential is refused, never ignored.
 */
import type { Config } from '../../config/config.ts';
import { authenticateApiKey } from '../apiKeys/authentication.ts';
import type { ServiceContext } from '../context.ts';
import { RefusalReason, RequestError } from '../errors.ts';
import { timingSafeEqual } from '../../lib/constantTime.ts';
import { ROLE_SCOPES, SCOPES, type Principal, type Role } from '../principals.ts';

export interface Authenticator {
  authenticate(authorization: string | null | undefined, clientIp: string): Promise<Principal | null>;
}

const invalid = () => new RequestError('UNAUTHENTICATED', 'The credential is not valid.', { reason: RefusalReason.CREDENTIAL_INVALID });

export function createAuthenticator(
  ctx: ServiceContext,
  options: { adminToken: string; operatorOrgId: string; environment: Config['environment'] },
): Authenticator {
  return {
    async authenticate(authorization, clientIp) {
      if (!authorization) return null;
      if (!authorization.startsWith('Bearer ')) throw invalid();
      const token = authorization.slice(7).trim();
      if (token.startsWith('pk_live_') || token.startsWith('pk_test_')) {
        return authenticateApiKey(ctx, token, { clientIp, serverEnvironment: options.environment });
      }
      if (timingSafeEqual(token, options.adminToken)) return { kind: 'operator', orgId: options.operatorOrgId, scopes: SCOPES };
      const claims = await ctx.accessTokens.verify(token);
      if (!claims) throw invalid();
      const role = claims.roles[0] as Role;
      if (!(role in ROLE_SCOPES)) throw invalid();
      return { kind: 'user', orgId: claims.org, userId: claims.sub, role, scopes: ROLE_SCOPES[role] };
    },
  };
}
