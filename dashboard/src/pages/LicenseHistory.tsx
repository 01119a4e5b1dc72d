/** A license's history: its seat utilization over a chosen range (a plain SVG chart, and CSV), and its verification log. */
import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql, type ResultOf, type VariablesOf } from '../graphql.ts';
import { errorMessage } from '../session.ts';
import { EmptyState, ErrorMessage, Pager, rangeOf, RangeSelect, Time, usePages, type RangeKey } from '../ui.tsx';

const UTILIZATION = graphql(`
  query SeatUtilization($licenseId: ID, $from: DateTime!, $to: DateTime!, $granularity: Granularity!) {
    seatUtilization(licenseId: $licenseId, from: $from, to: $to, granularity: $granularity) {
      at
      peakUsed
      max
      grants
      denials
      queued
    }
  }
`);

const VERIFICATIONS = graphql(`
  query LicenseVerifications($licenseId: ID!, $from: DateTime!, $to: DateTime!, $result: ValidationCode, $after: String) {
    licenseVerifications(licenseId: $licenseId, from: $from, to: $to, result: $result, first: 50, after: $after) {
      edges {
        cursor
        node {
          at
          operation
          result
          address
          origin
          fingerprint
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

type Point = ResultOf<typeof UTILIZATION>['seatUtilization'][number];
type Result = NonNullable<VariablesOf<typeof VERIFICATIONS>['result']>;

/** The results a vendor looks for most: the verdicts of validateLicense and the common refusals. */
const RESULTS: Result[] = [
  'VALID',
  'NOT_FOUND',
  'SUSPENDED',
  'REVOKED',
  'EXPIRED',
  'TOO_MANY_MACHINES',
  'FINGERPRINT_NOT_ACTIVATED',
  'ENTITLEMENTS_MISSING',
  'NO_SEATS_AVAILABLE',
  'SESSION_EXPIRED',
  'SESSION_NOT_FOUND',
  'RATE_LIMITED',
];

/** The finest points each range can be answered with: minutes for a day, hours for a week, days for a month. */
const GRANULARITY = { day: 'MINUTE', week: 'HOUR', month: 'DAY' } as const;

const CSV_COLUMNS = ['at', 'peakUsed', 'max', 'grants', 'denials', 'queued'] as const;

function toCsv(points: readonly Point[]): string {
  return [CSV_COLUMNS.join(','), ...points.map((p) => CSV_COLUMNS.map((c) => p[c]).join(','))].join('\n') + '\n';
}

/** One license's utilization, or with no `licenseId` the organization's (its licenses' points added up). */
export function Utilization({ licenseId }: { licenseId?: string }) {
  const [rangeKey, setRangeKey] = useState<RangeKey>('day');
  const [range, setRange] = useState(() => rangeOf('day'));
  const granularity = GRANULARITY[rangeKey];
  const [{ data, error }] = useQuery({ query: UTILIZATION, variables: { licenseId: licenseId ?? null, ...range, granularity } });
  const points = data?.seatUtilization ?? [];
  return (
    <section aria-labelledby="utilization-title">
      <header className="page-header">
        <h2 id="utilization-title">{licenseId ? 'Seat utilization' : 'Seat utilization, every license'}</h2>
        <RangeSelect id="utilization-range" value={rangeKey} onChange={(key) => (setRangeKey(key), setRange(rangeOf(key)))} />
      </header>
      <ErrorMessage>{error && errorMessage(error)}</ErrorMessage>
      {data && points.length === 0 ? (
        <EmptyState title="No seat activity in this range." />
      ) : (
        data && (
          <>
            <UtilizationChart points={points} from={range.from} to={range.to} granularity={granularity} />
            <p className="muted">
              One point per {granularity.toLowerCase()} with activity: the peak of seats in use against the limit, grants, refusals for want
              of a seat and queue entries.{' '}
              <a href={`data:text/csv;charset=utf-8,${encodeURIComponent(toCsv(points))}`} download={`utilization-${licenseId ?? 'organization'}.csv`}>
                Download CSV
              </a>
            </p>
          </>
        )
      )}
    </section>
  );
}

const WIDTH = 640;
const HEIGHT = 160;

const BUCKET_MS = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 } as const;

/** Peaks as bars against the seat limit (a line), one slot per bucket of the range; every figure is also in the label and each bar's title. */
function UtilizationChart({
  points,
  from,
  to,
  granularity,
}: {
  points: readonly Point[];
  from: string;
  to: string;
  granularity: keyof typeof BUCKET_MS;
}) {
  const start = Date.parse(from);
  const slots = Math.max(1, Math.ceil((Date.parse(to) - start) / BUCKET_MS[granularity]));
  const barWidth = Math.max(2, WIDTH / slots);
  const top = Math.max(1, ...points.map((p) => Math.max(p.peakUsed, p.max)));
  const y = (value: number) => HEIGHT - (value / top) * (HEIGHT - 4);
  // A bucket that began before `from` (a day's, say) is drawn in the first slot; the last slot ends at the right edge.
  const x = (at: string) =>
    Math.min(Math.max(0, Math.floor((Date.parse(at) - start) / BUCKET_MS[granularity])) * (WIDTH / slots), WIDTH - barWidth);
  const peak = Math.max(...points.map((p) => p.peakUsed));
  const denials = points.reduce((sum, p) => sum + p.denials, 0);
  const grants = points.reduce((sum, p) => sum + p.grants, 0);
  return (
    <svg
      className="chart"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={`Seat utilization: peak ${peak} of ${points.at(-1)!.max}, ${grants} granted, ${denials} refused`}
    >
      {points.map((p) => (
        <rect key={p.at} className="bar" x={x(p.at)} y={y(p.peakUsed)} width={barWidth} height={HEIGHT - y(p.peakUsed)}>
          <title>{`${p.at}: peak ${p.peakUsed} of ${p.max}, ${p.grants} granted, ${p.denials} refused, ${p.queued} queued`}</title>
        </rect>
      ))}
      <polyline
        className="limit"
        fill="none"
        points={points.map((p) => `${x(p.at)},${y(p.max)} ${x(p.at) + barWidth},${y(p.max)}`).join(' ')}
      />
    </svg>
  );
}

/** The license's verification log over the last 7 days (all it keeps), newest first, filtered by result, fifty entries a page. */
export function Verifications({ licenseId }: { licenseId: string }) {
  const [range] = useState(() => rangeOf('week'));
  const [result, setResult] = useState<Result | ''>('');
  const pages = usePages();
  const [{ data, error }] = useQuery({
    query: VERIFICATIONS,
    variables: { licenseId, ...range, result: result || null, after: pages.after },
  });
  const page = data?.licenseVerifications;
  return (
    <section aria-labelledby="verifications-title">
      <header className="page-header">
        <h2 id="verifications-title">Verification log</h2>
        <span className="range">
          <label htmlFor="verification-result">Result</label>
          <select id="verification-result" value={result} onChange={(e) => (setResult(e.target.value as Result | ''), pages.reset())}>
            <option value="">Any</option>
            {RESULTS.map((code) => (
              <option key={code} value={code}>
                {code}
              </option>
            ))}
          </select>
        </span>
      </header>
      <ErrorMessage>{error && errorMessage(error)}</ErrorMessage>
      {page && page.edges.length === 0 ? (
        <EmptyState title="No validation or refused seat operation matches." />
      ) : (
        <table aria-label="Verification log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Operation</th>
              <th scope="col">Result</th>
              <th scope="col">Address</th>
              <th scope="col">Origin</th>
              <th scope="col">Fingerprint</th>
            </tr>
          </thead>
          <tbody>
            {page?.edges.map(({ cursor, node }) => (
              <tr key={cursor}>
                <td>
                  <Time at={node.at} />
                </td>
                <td>{node.operation}</td>
                <td>
                  <code>{node.result}</code>
                </td>
                <td>{node.address ?? '—'}</td>
                <td>{node.origin ?? '—'}</td>
                <td>{node.fingerprint ? <code>{node.fingerprint}</code> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager label="Pages of the verification log" pages={pages} pageInfo={page?.pageInfo} />
    </section>
  );
}
