/** Types of sign-in and of the caller's own identity. */
import type { SignedIn } from '../services/identity/signIn.ts';
import type { Principal } from '../services/principals.ts';
import { InvalidCredentials, InvalidInput } from '../services/errors.ts';
import type { signInProviders } from '../services/identity/singleSignOn.ts';
import { builder } from './builder.ts';
import { SINGLE_SIGN_ON_ERRORS } from './errors.ts';

export const UserRoleEnum = builder.enumType('UserRole', { values: ['owner', 'admin', 'member', 'viewer'] as const });

export const UserType = builder.objectRef<SignedIn['user']>('User').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    organizationId: t.exposeID('orgId'),
    email: t.exposeString('email'),
    role: t.expose('role', { type: UserRoleEnum }),
  }),
});

export const SignedInType = builder.objectRef<SignedIn>('SignedIn').implement({
  description: 'Tokens are shown once. The access token lasts an hour; the refresh token 7 days, single use.',
  fields: (t) => ({
    accessToken: t.exposeString('accessToken'),
    accessTokenExpiresAt: t.expose('accessTokenExpiresAt', { type: 'DateTime' }),
    refreshToken: t.exposeString('refreshToken'),
    refreshTokenExpiresAt: t.expose('refreshTokenExpiresAt', { type: 'DateTime' }),
    user: t.field({ type: UserType, resolve: (s) => s.user }),
  }),
});

export const ViewerType = builder.objectRef<Principal>('Viewer').implement({
  description: 'The caller: the operator, a dashboard user, or an API key.',
  fields: (t) => ({
    kind: t.exposeString('kind'),
    organizationId: t.exposeID('orgId'),
    userId: t.id({ nullable: true, resolve: (p) => (p.kind === 'user' ? p.userId : null) }),
    apiKeyId: t.id({ nullable: true, resolve: (p) => (p.kind === 'apiKey' ? p.keyId : null) }),
    role: t.field({ type: UserRoleEnum, nullable: true, resolve: (p) => (p.kind === 'user' ? p.role : null) }),
    scopes: t.stringList({ resolve: (p) => [...p.scopes] }),
  }),
});

export const LoginInput = builder.inputType('LoginInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    password: t.string({ required: true }),
  }),
});

export const RefreshTokenInput = builder.inputType('RefreshTokenInput', {
  fields: (t) => ({ refreshToken: t.string({ required: true }) }),
});

export const ChangePasswordInput = builder.inputType('ChangePasswordInput', {
  fields: (t) => ({
    currentPassword: t.string({ required: true }),
    newPassword: t.string({ required: true, description: 'At least 12 characters.' }),
  }),
});

export const CreateUserInput = builder.inputType('CreateUserInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    password: t.string({ required: true, description: 'At least 12 characters.' }),
    role: t.field({ type: UserRoleEnum, required: true }),
  }),
});

export const UserCreatedType = builder.objectRef<{ user: SignedIn['user'] }>('UserCreated').implement({
  fields: (t) => ({ user: t.field({ type: UserType, resolve: (r) => r.user }) }),
});

export const LoginResult = builder.errorUnion('LoginResult', { types: [SignedInType, InvalidCredentials], resolveType: () => 'SignedIn' });
export const RefreshTokenResult = builder.errorUnion('RefreshTokenResult', {
  types: [SignedInType, InvalidCredentials],
  resolveType: () => 'SignedIn',
});
export const ChangePasswordResult = builder.errorUnion('ChangePasswordResult', {
  types: [SignedInType, InvalidCredentials, InvalidInput],
  resolveType: () => 'SignedIn',
});
export const CreateUserResult = builder.errorUnion('CreateUserResult', {
  types: [UserCreatedType, InvalidInput],
  resolveType: () => 'UserCreated',
});

export const SignInWithIdTokenInput = builder.inputType('SignInWithIdTokenInput', {
  fields: (t) => ({
    idToken: t.string({ required: true, description: "An ID token (a JWT) of one of the server's OpenID Connect providers; its `iss` picks the provider." }),
  }),
});

export const SignInWithAuthorizationCodeInput = builder.inputType('SignInWithAuthorizationCodeInput', {
  description: "The end of the console's redirect flow (authorization code with PKCE): the server swaps the code at the provider's token endpoint.",
  fields: (t) => ({
    provider: t.string({ required: true, description: 'The provider id (`SignInProvider.id`).' }),
    code: t.string({ required: true }),
    codeVerifier: t.string({ required: true, description: 'The PKCE verifier whose S256 challenge the authorization request carried.' }),
    redirectUri: t.string({ required: true, description: 'Exactly the redirect_uri of the authorization request.' }),
    nonce: t.string({ required: true, description: 'The nonce of the authorization request; the ID token must carry it.' }),
  }),
});

export const SignInWithIdTokenResult = builder.errorUnion('SignInWithIdTokenResult', {
  types: [SignedInType, ...SINGLE_SIGN_ON_ERRORS],
  resolveType: () => 'SignedIn',
});

export const SignInWithAuthorizationCodeResult = builder.errorUnion('SignInWithAuthorizationCodeResult', {
  types: [SignedInType, ...SINGLE_SIGN_ON_ERRORS, InvalidInput],
  resolveType: () => 'SignedIn',
});

type SignInProvider = ReturnType<typeof signInProviders>[number];

const SignInRedirectType = builder.objectRef<NonNullable<SignInProvider['redirect']>>('SignInRedirect').implement({
  description: "Where the console's authorization-code flow (with PKCE) starts, and the public client it runs as.",
  fields: (t) => ({
    authorizationEndpoint: t.string({ resolve: (r) => r.authorizationEndpoint() }),
    clientId: t.exposeString('clientId'),
    scopes: t.exposeStringList('scopes'),
  }),
});

export const SignInProviderType = builder.objectRef<SignInProvider>('SignInProvider').implement({
  description: 'An OpenID Connect provider whose ID tokens sign users in (OIDC_PROVIDERS).',
  fields: (t) => ({
    id: t.exposeString('id'),
    name: t.exposeString('name'),
    issuer: t.exposeString('issuer'),
    redirect: t.field({
      type: SignInRedirectType,
      nullable: true,
      description: 'Null when the provider takes pasted ID tokens only (Firebase, whose tokens come from its own SDK).',
      resolve: (p) => p.redirect ?? null,
    }),
  }),
});
