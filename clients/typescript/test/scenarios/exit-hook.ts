/** Holds a seat with releaseOnExit and waits to be stopped by a signal. */
import { Leasehold } from '@leasehold/client';
import { env, report } from './report.ts';

const seat = await new Leasehold({ url: env('LEASEHOLD_URL'), licenseKey: env('LICENSE_KEY') }).acquire({
  fingerprint: env('FINGERPRINT'),
  releaseOnExit: true,
});
setInterval(() => {}, 1_000); // the app's own work, which keeps it running
report('acquired', { sessionId: seat.session.id });
