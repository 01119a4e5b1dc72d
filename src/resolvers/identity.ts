/** Sign-in, token refresh, sign-out, the caller's identity, and adding users. */
import { changePassword, createUser, login, logout, refreshSession } from '../services/identity/signIn.ts';
import { signInProviders, signInWithAuthorizationCode, signInWithIdToken } from '../services/identity/singleSignOn.ts';
import { builder } from '../schema/builder.ts';
import { requireActor } from '../schema/context.ts';
import {
  ChangePasswordInput,
  ChangePasswordResult,
  CreateUserInput,
  CreateUserResult,
  LoginInput,
  LoginResult,
  RefreshTokenInput,
  RefreshTokenResult,
  SignInProviderType,
  SignInWithAuthorizationCodeInput,
  SignInWithAuthorizationCodeResult,
  SignInWithIdTokenInput,
  SignInWithIdTokenResult,
  ViewerType,
} from '../schema/identity.ts';
import { unwrap } from '../services/errors.ts';

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerType,
    resolve: (_root, _args, ctx) => ctx.principal!,
  }),
  signInProviders: t.field({
    type: [SignInProviderType],
    skipTypeScopes: true,
    description: 'The OpenID Connect providers users may sign in with, for a sign-in page.',
    resolve: (_root, _args, ctx) => signInProviders(ctx.services),
  }),
}));

builder.mutationFields((t) => ({
  login: t.field({
    type: LoginResult,
    skipTypeScopes: true,
    args: { input: t.arg({ type: LoginInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await login(ctx.services, input, ctx.clientIp, ctx.requestId)),
  }),
  signInWithIdToken: t.field({
    type: SignInWithIdTokenResult,
    skipTypeScopes: true,
    description: 'Signs in with an ID token of a configured OpenID Connect provider; answers what `login` answers.',
    args: { input: t.arg({ type: SignInWithIdTokenInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await signInWithIdToken(ctx.services, input, ctx.clientIp, ctx.requestId)),
  }),
  signInWithAuthorizationCode: t.field({
    type: SignInWithAuthorizationCodeResult,
    skipTypeScopes: true,
    description: "Finishes the console's redirect sign-in: swaps the code (with its PKCE verifier) for the provider's ID token and signs in with it.",
    args: { input: t.arg({ type: SignInWithAuthorizationCodeInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await signInWithAuthorizationCode(ctx.services, input, ctx.clientIp, ctx.requestId)),
  }),
  refreshToken: t.field({
    type: RefreshTokenResult,
    skipTypeScopes: true,
    args: { input: t.arg({ type: RefreshTokenInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await refreshSession(ctx.services, input.refreshToken, ctx.requestId)),
  }),
  logout: t.boolean({
    skipTypeScopes: true,
    description: 'Revokes the refresh token and every token rotated from the same sign-in; true when it existed.',
    args: { input: t.arg({ type: RefreshTokenInput, required: true }) },
    resolve: (_root, { input }, ctx) => logout(ctx.services, input.refreshToken, ctx.requestId),
  }),
  changePassword: t.field({
    type: ChangePasswordResult,
    description: "Replaces the caller's password (a dashboard user's, proving the current one); ends every other sign-in of the user and answers a new one.",
    args: { input: t.arg({ type: ChangePasswordInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await changePassword(ctx.services, requireActor(ctx), input)),
  }),
  createUser: t.field({
    type: CreateUserResult,
    authScopes: { scope: 'users:write' },
    args: { input: t.arg({ type: CreateUserInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ user: unwrap(await createUser(ctx.services, requireActor(ctx), input)) }),
  }),
}));
