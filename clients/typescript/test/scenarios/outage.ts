/**
 * Holds a seat while the test stops the server and starts it again: reports the seat going
 * offline, its last verified lease still verifying offline, the loss at that lease's expiry,
 * and the seat coming back; then releases it.
 */
import { Leasehold, verifyLease } from '@leasehold/client';
import { env, report } from './report.ts';

const url = env('LEASEHOLD_URL');
const jwks = await (await fetch(`${url}/.well-known/jwks.json`)).json();
const lh = new Leasehold({ url, licenseKey: env('LICENSE_KEY'), jwks });
const fingerprint = env('FINGERPRINT');
const seat = await lh.acquire({ fingerprint });
report('acquired', { sessionId: seat.session.id });
// A seat's timers never keep a process alive by themselves; this script has nothing else to do.
const alive = setInterval(() => {}, 1_000);

const verified = () =>
  verifyLease(seat.lease.token, { jwks, licenseId: seat.session.licenseId, fingerprint }).then(
    (claims) => ({ ok: true, exp: claims.exp }),
    (error) => ({ ok: false, code: error.code }),
  );

seat.on('offline', async ({ error, until }) => {
  report('offline', { code: error.code, until: until.getTime(), exp: seat.lease.claims.exp, state: seat.state, lease: await verified() });
});
seat.on('lost', ({ error }) => report('lost', { code: error.code, state: seat.state, exp: seat.lease.claims.exp }));
seat.on('renewed', async ({ session, reacquired }) => {
  if (!reacquired) return;
  report('back', { sessionId: session.id, state: seat.state, lease: await verified() });
  await seat.release();
  report('released');
  clearInterval(alive);
});
