/** Holds a seat until the server stops, then releases it: the release must resolve, not throw. */
import { Leasehold } from '@leasehold/client';
import { env, report, sleep } from './report.ts';

const url = env('LEASEHOLD_URL');
const seat = await new Leasehold({ url, licenseKey: env('LICENSE_KEY') }).acquire({ fingerprint: env('FINGERPRINT') });
report('acquired', { sessionId: seat.session.id, expiresAt: seat.session.expiresAt.getTime() });
while (await fetch(`${url}/health`).then(() => true, () => false)) await sleep(50);
const started = Date.now();
const outcome = await seat.release().then(
  () => 'resolved',
  (error) => `rejected: ${error}`,
);
const again = await seat.release().then(
  () => 'resolved',
  (error) => `rejected: ${error}`,
);
// When the server last said the session would end (heartbeats may have moved it since the acquire).
report('released', { outcome, again, ms: Date.now() - started, state: seat.state, expiresAt: seat.session.expiresAt.getTime() });
