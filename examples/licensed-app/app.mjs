/**
 * A licensed desktop-style app on @leasehold/client: it takes a floating seat for this machine,
 * tells its user what each refusal means, checks a feature with a signed verdict, shows the
 * seat's state as it changes (online, offline with the time left, lost, back), and gives the
 * seat back on Ctrl+C.
 *
 *   LEASEHOLD_LICENSE_KEY=lhk_… node examples/licensed-app/app.mjs
 *
 * LEASEHOLD_URL (default http://localhost:4000) names the server; LEASEHOLD_JWKS a pinned key
 * set (a JSON file saved from /.well-known/jwks.json) to verify against instead of fetching it;
 * EXAMPLE_SECONDS ends the app by itself after that long.
 */
import { readFile } from 'node:fs/promises';
import { Leasehold, LeaseholdError } from '@leasehold/client';
import { machineFingerprint } from '@leasehold/client/fingerprint';

const url = process.env.LEASEHOLD_URL ?? 'http://localhost:4000';
const licenseKey = process.env.LEASEHOLD_LICENSE_KEY;
if (!licenseKey) {
  console.error('Set LEASEHOLD_LICENSE_KEY to a license key (createLicense in GraphiQL makes one).');
  process.exit(64);
}
const jwks = process.env.LEASEHOLD_JWKS ? JSON.parse(await readFile(process.env.LEASEHOLD_JWKS, 'utf8')) : undefined;

/** What the user reads when no seat is granted: what happened and what they can do. */
const refusals = {
  NOT_FOUND: 'This license key is not known. Check it for typos, or ask your administrator for yours.',
  SUSPENDED: 'This license is suspended. Ask your administrator to reinstate it.',
  REVOKED: 'This license has been revoked. Ask your administrator for a new one.',
  EXPIRED: 'This license has expired. Renew it to keep working.',
  NO_SEATS_AVAILABLE: 'Every seat of this license is in use. Try again when a colleague closes the app.',
  TOO_MANY_MACHINES: 'This license is in use on as many machines as it allows. Ask your administrator to free one.',
  NETWORK_ERROR: 'The license server cannot be reached. Check your connection and try again.',
  SERVICE_UNAVAILABLE: 'The license server is having trouble. Try again in a minute.',
  RATE_LIMITED: 'Too many attempts. Try again in a minute.',
};

const lh = new Leasehold({ url, licenseKey, ...(jwks ? { jwks } : {}) });
const fingerprint = await machineFingerprint({ appId: 'com.example.licensed-app' });

let seat;
try {
  seat = await lh.acquire({ fingerprint, clientInfo: { app: 'licensed-app', version: '1.0.0' }, releaseOnExit: true });
} catch (error) {
  if (!(error instanceof LeaseholdError)) throw error;
  const seats = error.seats ? ` (${error.seats.used} of ${error.seats.max} in use)` : '';
  console.error(`${refusals[error.code] ?? `No license (${error.code}): ${error.message}`}${seats}`);
  process.exit(75);
}

const { tier, features } = seat.lease.claims;
console.log(`Licensed: ${tier} plan, seat ${seat.session.id}`);
const verdict = await lh.validate({ fingerprint, entitlements: ['export'] });
console.log(verdict.valid ? 'Export is enabled.' : `Export is not part of this license (${verdict.code}).`);
if (features.length) console.log(`Features: ${features.join(', ')}`);

seat.on('offline', ({ error, until }) => console.warn(`Working offline (${error.code}): licensed until ${until.toLocaleTimeString()}.`));
seat.on('lost', ({ error }) =>
  console.error(error.code === 'LEASE_EXPIRED' ? 'Offline too long: save your work; the app reconnects by itself.' : `License ended (${error.code}).`),
);
seat.on('renewed', ({ reacquired }) => reacquired && console.log('Licensed again.'));

const seconds = Number(process.env.EXAMPLE_SECONDS);
if (seconds > 0) {
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  await seat.release();
  console.log('Seat released.');
} else {
  console.log('Working. Ctrl+C gives the seat back and quits.');
  setInterval(() => {}, 60_000); // the app's own work keeps it running
}
