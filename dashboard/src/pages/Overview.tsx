/** The monitoring page: seats in use against capacity (live, one subscription for the organization), licenses near their limit or expiry, webhook delivery counts and API usage by tier today. */
import { useState } from 'react';
import { useQuery } from 'urql';
import { Link } from 'wouter';
import { graphql } from '../graphql.ts';
import { newer, useOrganizationSeats } from '../seats.ts';
import { errorMessage } from '../session.ts';
import { EmptyState, ErrorMessage, SeatGauge, Stat, Time } from '../ui.tsx';
import { Can } from '../viewer.tsx';
import { Metrics } from './Webhooks.tsx';
import { Utilization } from './LicenseHistory.tsx';

/** How many licenses the overview sums: a page of the largest organizations' lists; the Licenses page has them all. */
const OVERVIEW_LICENSES = 100;
const NEAR_SHARE = 0.8;
const EXPIRY_WARNING_DAYS = 14;

const LICENSES = graphql(`
  query OverviewLicenses($first: Int) {
    licenses(first: $first, filter: { status: ACTIVE }) {
      edges {
        node {
          id
          tier
          expiresAt
          seats {
            licenseId
            used
            max
            changedAt
          }
        }
      }
      pageInfo {
        hasNextPage
      }
    }
  }
`);

const TODAY = graphql(`
  query UsageToday($from: DateTime!, $to: DateTime!) {
    apiKeyUsage(from: $from, to: $to) {
      tiers {
        tier
        requests
        uniqueConsumers
        rateLimited
      }
    }
  }
`);

const startOfUtcDay = (now: number) => Math.floor(now / 86_400_000) * 86_400_000;

export function Overview() {
  const [{ data, error }] = useQuery({ query: LICENSES, variables: { first: OVERVIEW_LICENSES } });
  const live = useOrganizationSeats(data?.licenses.edges.map(({ node }) => node.id));
  const [now] = useState(Date.now);
  const licenses = (data?.licenses.edges ?? []).map(({ node }) => ({ ...node, seats: newer(node.seats, live[node.id])! }));
  const used = licenses.reduce((sum, l) => sum + l.seats.used, 0);
  const capacity = licenses.reduce((sum, l) => sum + l.seats.max, 0);
  const attention = licenses.filter(
    (l) =>
      (l.seats.max > 0 && l.seats.used / l.seats.max >= NEAR_SHARE) ||
      (l.expiresAt !== null && Date.parse(l.expiresAt) - now < EXPIRY_WARNING_DAYS * 86_400_000),
  );
  return (
    <section aria-labelledby="overview-title">
      <header className="page-header">
        <h1 id="overview-title">Overview</h1>
      </header>
      <ErrorMessage>{error && errorMessage(error)}</ErrorMessage>
      <div className="cards">
        <article className="card" aria-labelledby="seats-total-title">
          <h2 id="seats-total-title">Seats in use, active licenses</h2>
          <SeatGauge used={used} max={capacity} size="large" />
          <p className="muted">
            {licenses.length} license{licenses.length === 1 ? '' : 's'}{data?.licenses.pageInfo.hasNextPage ? ` (the first ${OVERVIEW_LICENSES})` : ''}, updated live.
          </p>
        </article>
        <Can scope="usage:read">
          <UsageToday from={startOfUtcDay(now)} />
        </Can>
      </div>
      <Utilization />
      <section aria-labelledby="attention-title">
        <h2 id="attention-title">Near their limit or expiry</h2>
        {data && attention.length === 0 ? (
          <EmptyState title="Every license has room and time left." />
        ) : (
          <table aria-label="Licenses near their limit or expiry">
            <thead>
              <tr>
                <th scope="col">License</th>
                <th scope="col">Tier</th>
                <th scope="col">Seats in use</th>
                <th scope="col">Expires</th>
              </tr>
            </thead>
            <tbody>
              {attention.map((l) => (
                <tr key={l.id}>
                  <td>
                    <Link href={`/licenses/${l.id}`}>{l.id}</Link>
                  </td>
                  <td>{l.tier}</td>
                  <td>
                    <SeatGauge used={l.seats.used} max={l.seats.max} />
                  </td>
                  <td>
                    <Time at={l.expiresAt} empty="Never" />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <Can scope="webhooks:read">
        <Metrics />
      </Can>
    </section>
  );
}

function UsageToday({ from }: { from: number }) {
  const [{ data }] = useQuery({
    query: TODAY,
    variables: { from: new Date(from).toISOString(), to: new Date(from + 86_400_000).toISOString() },
  });
  const tiers = data?.apiKeyUsage.tiers ?? [];
  return (
    <article className="card" aria-labelledby="usage-today-title">
      <h2 id="usage-today-title">API usage today (UTC)</h2>
      {data && tiers.length === 0 ? (
        <p className="muted">No API key was used today.</p>
      ) : (
        tiers.map((t) => (
          <dl className="stats" key={t.tier} aria-label={`Tier ${t.tier}`}>
            <Stat label={`${t.tier}: requests`} value={t.requests} />
            <Stat label="Unique consumers" value={t.uniqueConsumers} />
            <Stat label="Rate-limited" value={t.rateLimited} />
          </dl>
        ))
      )}
    </article>
  );
}
