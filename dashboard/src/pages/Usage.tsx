/** API-key usage over a chosen range: by tier (requests, unique consumers, rate-limit hits, errors) and by key, with a bar per day. */
import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../graphql.ts';
import { errorMessage } from '../session.ts';
import { EmptyState, ErrorMessage, rangeOf, RangeSelect, type RangeKey } from '../ui.tsx';

const USAGE = graphql(`
  query ApiKeyUsage($from: DateTime!, $to: DateTime!) {
    apiKeyUsage(from: $from, to: $to) {
      firstDay
      lastDay
      tiers {
        tier
        activeKeys
        requests
        uniqueConsumers
        rateLimited
        errors
        p95Ms
      }
      keys {
        apiKey {
          id
          name
          tier
        }
        requests
        uniqueConsumers
        rateLimited
        errors
        p95Ms
        days {
          day
          requests
        }
      }
    }
  }
`);

export function Usage() {
  const [rangeKey, setRangeKey] = useState<RangeKey>('week');
  const [range, setRange] = useState(() => rangeOf('week'));
  const [{ data, error }] = useQuery({ query: USAGE, variables: range });
  const report = data?.apiKeyUsage;
  return (
    <section aria-labelledby="usage-title">
      <header className="page-header">
        <h1 id="usage-title">API usage</h1>
        <RangeSelect id="usage-range" value={rangeKey} onChange={(key) => (setRangeKey(key), setRange(rangeOf(key)))} />
      </header>
      <ErrorMessage>{error && errorMessage(error)}</ErrorMessage>
      {report && (
        <p className="muted">
          UTC days {report.firstDay} to {report.lastDay}; figures trail live traffic by a few seconds.
        </p>
      )}
      {report && report.tiers.length === 0 ? (
        <EmptyState title="No API key was used in this range." />
      ) : (
        report && (
          <>
            <table aria-label="Usage by tier">
              <thead>
                <tr>
                  <th scope="col">Tier</th>
                  <th scope="col">Active keys</th>
                  <th scope="col">Requests</th>
                  <th scope="col">Unique consumers</th>
                  <th scope="col">Rate-limited</th>
                  <th scope="col">Errors</th>
                  <th scope="col">p95</th>
                </tr>
              </thead>
              <tbody>
                {report.tiers.map((t) => (
                  <tr key={t.tier}>
                    <th scope="row">{t.tier}</th>
                    <td>{t.activeKeys}</td>
                    <td>{t.requests}</td>
                    <td>{t.uniqueConsumers}</td>
                    <td>{t.rateLimited}</td>
                    <td>{t.errors}</td>
                    <td>{t.p95Ms === null ? '—' : `${t.p95Ms} ms`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <table aria-label="Usage by key">
              <thead>
                <tr>
                  <th scope="col">Key</th>
                  <th scope="col">Requests per day</th>
                  <th scope="col">Requests</th>
                  <th scope="col">Rate-limited</th>
                  <th scope="col">Errors</th>
                </tr>
              </thead>
              <tbody>
                {report.keys.map((k) => (
                  <tr key={k.apiKey.id}>
                    <th scope="row">
                      {k.apiKey.name}
                      <div className="hint">{k.apiKey.tier}</div>
                    </th>
                    <td>
                      <DayBars days={k.days} label={`Requests per day of ${k.apiKey.name}`} />
                    </td>
                    <td>{k.requests}</td>
                    <td>{k.rateLimited}</td>
                    <td>{k.errors}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )
      )}
    </section>
  );
}

/** One bar per day, as plain SVG; the numbers are in the title of each bar and in the label. */
function DayBars({ days, label }: { days: readonly { day: string; requests: number }[]; label: string }) {
  const peak = Math.max(1, ...days.map((d) => d.requests));
  const width = Math.max(days.length * 10, 10);
  return (
    <svg width={width} height={24} role="img" aria-label={`${label}: ${days.map((d) => `${d.day} ${d.requests}`).join(', ')}`}>
      {days.map((d, i) => {
        const h = Math.max((d.requests / peak) * 22, d.requests > 0 ? 2 : 0);
        return (
          <rect key={d.day} className="bar" x={i * 10} y={24 - h} width={8} height={h}>
            <title>{`${d.day}: ${d.requests}`}</title>
          </rect>
        );
      })}
    </svg>
  );
}
