/** COUNT SDK clients, each its own Leasehold on its own machine, race for the license's seats at once. */
import { Leasehold, LeaseholdError, type Seat } from '@leasehold/client';
import { env, report } from './report.ts';

const url = env('LEASEHOLD_URL');
const licenseKey = env('LICENSE_KEY');
const count = Number(env('COUNT'));
const jwks = await (await fetch(`${url}/.well-known/jwks.json`)).json();
const results = await Promise.allSettled(
  // Exact counts are the point, not latency: a busy machine may take long to answer 200 at once.
  Array.from({ length: count }, (_, i) => new Leasehold({ url, licenseKey, jwks, timeoutMs: 60_000 }).acquire({ fingerprint: `racer-${i}` })),
);
const seats = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value as Seat] : []));
const refusals: Record<string, number> = {};
for (const r of results) {
  if (r.status === 'rejected') {
    const code = r.reason instanceof LeaseholdError ? r.reason.code : String(r.reason);
    refusals[code] = (refusals[code] ?? 0) + 1;
  }
}
report('raced', { granted: seats.length, sessions: new Set(seats.map((s) => s.session.id)).size, refusals });
// Holds the seats until the test, having counted them on the server, closes stdin.
await new Promise((resolve) => process.stdin.on('data', () => {}).on('end', resolve));
await Promise.all(seats.map((s) => s.release()));
report('released');
