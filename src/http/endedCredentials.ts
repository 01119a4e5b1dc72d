/**
 * A subscription outlives the request that opened it. So its stream asks, before each event it
 * hands on, whether the credential it was opened with still holds, with the same cached question
 * every request asks: a dashboard user's sign-in (ended by logout, a password change or a reused
 * refresh token) or an API key (revoked, expired, or a rotated-out secret past its grace). Once it
 * does not, the stream's last message is that refusal (UNAUTHENTICATED with its reason) and it
 * completes, instead of delivering the event.
 */
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { ExecutionResult } from 'graphql';
import { untilRefused } from '../lib/asyncIterators.ts';
import type { GraphQLContext } from '../schema/context.ts';
import type { ServiceContext } from '../services/context.ts';
import { sessionEnded } from '../services/identity/authenticate.ts';
import { apiKeyStanding } from '../services/apiKeys/authentication.ts';
import type { Principal } from '../services/principals.ts';
import type { RequestError } from '../services/errors.ts';
import { maskError } from './errorMasking.ts';

export function endedCredentialsPlugin(services: ServiceContext): Plugin {
  const mask = maskError(services.log);
  const standing = async (principal: Principal): Promise<RequestError | undefined> => {
    if (principal.kind === 'user') return (await services.signInSessions.isLive(principal.sessionId)) ? undefined : sessionEnded();
    if (principal.kind === 'apiKey') return apiKeyStanding(services, principal.secretHash);
    return undefined;
  };
  return {
    onSubscribe() {
      return {
        onSubscribeResult({ args, result, setResult }) {
          const principal = (args.contextValue as unknown as GraphQLContext).principal;
          if ((principal?.kind !== 'user' && principal?.kind !== 'apiKey') || !isAsyncIterable(result)) return;
          setResult(
            untilRefused<ExecutionResult>(result[Symbol.asyncIterator](), async () => {
              const refusal = await standing(principal);
              return refusal && { errors: [mask(refusal, '') as never] };
            }),
          );
        },
      };
    },
  };
}
