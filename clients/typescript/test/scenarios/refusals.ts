/**
 * Takes a real lease and a real signed verdict, then checks forged and misused forms of them
 * against the pinned JWKS with the network switched off: each must be refused with its code.
 */
import { Leasehold, LeaseholdError, verifyCertificate, verifyLease, verifyValidation, type LeaseClaims } from '@leasehold/client';
import { generateKeyPair, SignJWT, decodeProtectedHeader } from 'jose';
import { env, report } from './report.ts';

const url = env('LEASEHOLD_URL');
const jwks = await (await fetch(`${url}/.well-known/jwks.json`)).json();
const fingerprint = env('FINGERPRINT');
const certificate = env('CERTIFICATE');
const lh = new Leasehold({ url, licenseKey: env('LICENSE_KEY'), jwks });
const seat = await lh.acquire({ fingerprint });
const verdict = await lh.validate({ fingerprint, nonce: 'nonce-of-the-first-request' });
const verdictToken = verdict.token!;
const { token } = seat.lease;
const licenseId = seat.session.licenseId;
const kid = decodeProtectedHeader(token).kid!;

// Another key, even one that claims the server's key id.
const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
const forged = (claims: LeaseClaims, keyId: string) => new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: keyId, typ: 'lease+jwt' }).sign(privateKey);
const [header, payload, signature] = token.split('.') as [string, string, string];
const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))));
const encode = (value: unknown) => btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const tampered = `${header}.${encode({ ...claims, features: [...claims.features, 'everything'] })}.${signature}`;
const otherKeyOwnKid = await forged(claims, 'another-key');
const otherKeySameKid = await forged(claims, kid);
await seat.release();

// From here on nothing may touch the network: verification is offline.
globalThis.fetch = () => Promise.reject(new Error('offline'));

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ACCEPTED',
    (error) => (error instanceof LeaseholdError ? error.code : `not a LeaseholdError: ${error}`),
  );
const lease = (t: string, overrides: Partial<Parameters<typeof verifyLease>[1]> = {}) =>
  outcome(verifyLease(t, { jwks, licenseId, fingerprint, sessionId: seat.session.id, ...overrides }));

report('outcomes', {
  genuineLease: await lease(token),
  genuineVerdict: await outcome(verifyValidation(verdictToken, { jwks, nonce: 'nonce-of-the-first-request', fingerprint })),
  otherKeyOwnKid: await lease(otherKeyOwnKid),
  otherKeySameKid: await lease(otherKeySameKid),
  tamperedClaim: await lease(tampered),
  otherFingerprint: await lease(token, { fingerprint: 'another-machine' }),
  otherLicense: await lease(token, { licenseId: 'lic_another' }),
  otherSession: await lease(token, { sessionId: 'ses_another' }),
  replayedVerdict: await outcome(verifyValidation(verdictToken, { jwks, nonce: 'nonce-of-a-later-request', fingerprint })),
  verdictAsLease: await lease(verdictToken),
  leaseAsVerdict: await outcome(verifyValidation(token, { jwks, nonce: 'nonce-of-the-first-request' })),
  certificateAsLease: await lease(certificate),
  leaseAsCertificate: await outcome(verifyCertificate(token, { jwks, licenseId, fingerprint })),
  expiredLease: await lease(token, { currentDate: new Date((claims.exp + 3600) * 1000) }),
  otherIssuer: await lease(token, { issuer: 'someone-else' }),
  notAToken: await lease('not-a-token'),
});
