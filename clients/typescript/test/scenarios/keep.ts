/**
 * Holds a seat for HOLD_MS by the SDK's own heartbeats, reporting every renewal, then holds it
 * on until the test, having counted it on the server, closes stdin, and releases it.
 */
import { Leasehold } from '@leasehold/client';
import { env, report, sleep } from './report.ts';

const lh = new Leasehold({ url: env('LEASEHOLD_URL'), licenseKey: env('LICENSE_KEY') });
const seat = await lh.acquire({ fingerprint: env('FINGERPRINT') });
report('acquired', { sessionId: seat.session.id, exp: seat.lease.claims.exp });
seat.on('renewed', ({ session, lease, reacquired }) => report('renewed', { sessionId: session.id, exp: lease.claims.exp, reacquired }));
seat.on('offline', ({ error }) => report('offline', { code: error.code }));
seat.on('lost', ({ error }) => report('lost', { code: error.code }));
await sleep(Number(env('HOLD_MS')));
report('held', { state: seat.state, sessionId: seat.session.id, exp: seat.lease.claims.exp });
await new Promise((resolve) => process.stdin.on('data', () => {}).on('end', resolve));
await seat.release();
report('released', { state: seat.state });
