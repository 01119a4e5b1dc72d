/**
 * Turns an `Authorization: Bearer …` credential into a principal: the operator's root token,
 * an API key (`pk_live_…` / `pk_test_…`), or a dashboard user's access token. No header means
 * an anonymous caller; a header that is not a valid credential (an empty one included) is
 * refused, never ignored.
 */
import type { Config } from '../../config/config.ts';
import { authenticateApiKey } from '../apiKeys/authentication.ts';
import type { ServiceContext } from '../context.ts';
import { RefusalReason, RequestError } from '../errors.ts';
import { timingSafeEqual } from '../../lib/constantTime.ts';
import { ROLE_SCOPES, SCOPES, type Principal, type Role } from '../principals.ts';

export interface Authenticator {
  /** `authorization` as the caller sent it: a header, or graphql-ws connectionParams' value of any JSON type. */
  authenticate(authorization: unknown, clientIp: string): Promise<Principal | null>;
}

/** An access token of a sign-in that has ended, at the door or in a subscription it opened. */
export const sessionEnded = () =>
  new RequestError('UNAUTHENTICATED', 'This sign-in has ended; sign in again.', { reason: RefusalReason.SESSION_ENDED });

const invalid = () => new RequestError('UNAUTHENTICATED', 'The credential is not valid.', { reason: RefusalReason.CREDENTIAL_INVALID });

export function createAuthenticator(
  ctx: ServiceContext,
  options: { adminToken: string; operatorOrgId: string; environment: Config['environment'] },
): Authenticator {
  return {
    async authenticate(authorization, clientIp) {
      if (authorization === undefined || authorization === null) return null;
      // Present means meant: an empty header or a non-string parameter is a credential that is wrong.
      if (typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) throw invalid();
      const token = authorization.slice(7).trim();
      // No credential holds whitespace (trim() takes non-breaking and other Unicode spaces too):
      // an empty or blank one is refused here, before it can be compared with anything.
      if (token === '' || /\s/.test(token)) throw invalid();
      if (token.startsWith('pk_live_') || token.startsWith('pk_test_')) {
        return authenticateApiKey(ctx, token, { clientIp, serverEnvironment: options.environment });
      }
      if (timingSafeEqual(token, options.adminToken)) return { kind: 'operator', orgId: options.operatorOrgId, scopes: SCOPES };
      const claims = await ctx.accessTokens.verify(token);
      if (!claims) throw invalid();
      if (!(await ctx.signInSessions.isLive(claims.sid))) throw sessionEnded();
      const role = claims.roles[0] as Role;
      if (!(role in ROLE_SCOPES)) throw invalid();
      return { kind: 'user', orgId: claims.org, userId: claims.sub, role, scopes: ROLE_SCOPES[role], sessionId: claims.sid };
    },
  };
}
