/** Licenses: filter by status and tier, page through them with live seat counts, create one (its key shown once). */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link, useLocation } from 'wouter';
import { errorMessage } from '../session.ts';
import { graphql, type ResultOf } from '../graphql.ts';
import { newer, useOrganizationSeats } from '../seats.ts';
import { Badge, EmptyState, ErrorMessage, failureOf, Pager, SeatGauge, SecretOnce, Time, usePages } from '../ui.tsx';
import { Can } from '../viewer.tsx';

const PAGE_SIZE = 20;

const LICENSES = graphql(`
  query Licenses($first: Int, $after: String, $filter: LicenseFilter) {
    licenses(first: $first, after: $after, filter: $filter) {
      edges {
        node {
          id
          tier
          status
          keyHint
          expiresAt
          features
          seats {
            licenseId
            used
            max
            changedAt
          }
        }
      }
      pageInfo {
        endCursor
        hasNextPage
      }
    }
  }
`);

const CREATE_LICENSE = graphql(`
  mutation CreateLicense($input: CreateLicenseInput!) {
    createLicense(input: $input) {
      __typename
      ... on LicenseCreated {
        key
        license {
          id
          tier
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

type Status = 'ACTIVE' | 'SUSPENDED' | 'REVOKED';

export function Licenses() {
  const [status, setStatus] = useState<Status | ''>('');
  const [tier, setTier] = useState('');
  const pages = usePages();
  const { after } = pages;
  const filter = { ...(status ? { status } : {}), ...(tier.trim() ? { tier: tier.trim() } : {}) };
  const [{ data, error, fetching }, refetch] = useQuery({ query: LICENSES, variables: { first: PAGE_SIZE, after, filter } });
  const [creating, setCreating] = useState(false);
  const resetPaging = pages.reset;
  const edges = data?.licenses.edges ?? [];
  const live = useOrganizationSeats(data && edges.map(({ node }) => node.id));

  return (
    <section aria-labelledby="licenses-title">
      <header className="page-header">
        <h1 id="licenses-title">Licenses</h1>
        <Can scope="licenses:write">
          <button type="button" className="primary" onClick={() => setCreating(true)} disabled={creating}>
            New license
          </button>
        </Can>
      </header>
      {creating && <CreateLicense onCreated={() => refetch({ requestPolicy: 'network-only' })} onDone={() => setCreating(false)} />}
      <div className="toolbar">
        <form className="filters" aria-label="Filter licenses" onSubmit={(e) => e.preventDefault()}>
          <label>
            Status
            <select value={status} onChange={(e) => (setStatus(e.target.value as Status | ''), resetPaging())}>
              <option value="">Any</option>
              <option value="ACTIVE">Active</option>
              <option value="SUSPENDED">Suspended</option>
              <option value="REVOKED">Revoked</option>
            </select>
          </label>
          <label>
            Tier
            <input value={tier} onChange={(e) => (setTier(e.target.value), resetPaging())} placeholder="any" />
          </label>
        </form>
        <FindById />
      </div>
      <ErrorMessage>{error && errorMessage(error)}</ErrorMessage>
      {!fetching && !error && edges.length === 0 ? (
        <EmptyState title={status || tier ? 'No license matches these filters.' : 'No licenses yet.'}>
          {!status && !tier && <p>Create one and give its key to your customer's app.</p>}
        </EmptyState>
      ) : (
        <table aria-label="Licenses">
          <thead>
            <tr>
              <th scope="col">License</th>
              <th scope="col">Tier</th>
              <th scope="col">Status</th>
              <th scope="col">Seats in use</th>
              <th scope="col">Expires</th>
            </tr>
          </thead>
          <tbody>
            {edges.map(({ node }) => {
              const seats = newer(node.seats, live[node.id])!;
              return (
                <tr key={node.id}>
                  <td>
                    <Link href={`/licenses/${node.id}`}>{node.id}</Link>
                    <span className="muted"> ··{node.keyHint}</span>
                  </td>
                  <td>{node.tier}</td>
                  <td>
                    <Badge status={node.status} />
                  </td>
                  <td>
                    <SeatGauge used={seats.used} max={seats.max} />
                  </td>
                  <td>
                    <Time at={node.expiresAt} empty="Never" />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <Pager label="Pages of licenses" pages={pages} pageInfo={data?.licenses.pageInfo} />
    </section>
  );
}

function FindById() {
  const [, navigate] = useLocation();
  const [id, setId] = useState('');
  return (
    <form
      className="find"
      role="search"
      aria-label="Open a license by id"
      onSubmit={(e) => {
        e.preventDefault();
        if (id.trim()) navigate(`/licenses/${encodeURIComponent(id.trim())}`);
      }}
    >
      <label htmlFor="find-license">License id</label>
      <input id="find-license" value={id} onChange={(e) => setId(e.target.value)} placeholder="lic_…" />
      <button type="submit">Open</button>
    </form>
  );
}

type Created = Extract<ResultOf<typeof CREATE_LICENSE>['createLicense'], { __typename: 'LicenseCreated' }>;

const optionalInt = (value: FormDataEntryValue | null) => (value === null || String(value).trim() === '' ? undefined : Number(value));

function CreateLicense({ onCreated, onDone }: { onCreated: () => void; onDone: () => void }) {
  const [, createLicense] = useMutation(CREATE_LICENSE);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<Created | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const expires = String(form.get('expiresAt') ?? '');
    const features = String(form.get('features') ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
    const input = {
      tier: String(form.get('tier')).trim(),
      features,
      maxSeats: Number(form.get('maxSeats')),
      maxMachines: optionalInt(form.get('maxMachines')),
      leaseSeconds: optionalInt(form.get('leaseSeconds')),
      expiresAt: expires ? new Date(expires).toISOString() : undefined,
    };
    const result = await createLicense({ input });
    const outcome = result.data?.createLicense;
    const failure = failureOf(result, 'LicenseCreated');
    setError(failure);
    if (!failure && outcome?.__typename === 'LicenseCreated') {
      setCreated(outcome);
      // A list that showed no license yet names no License the cache could know to refresh.
      onCreated();
    }
  }

  if (created) {
    return (
      <section className="panel" aria-labelledby="created-title">
        <h2 id="created-title">License created</h2>
        <SecretOnce label="License key" value={created.key} />
        <p className="actions">
          <Link href={`/licenses/${created.license.id}`}>Open {created.license.id}</Link>
          <button type="button" onClick={onDone}>
            Done
          </button>
        </p>
      </section>
    );
  }
  return (
    <form className="panel grid-form" aria-labelledby="create-title" onSubmit={submit}>
      <h2 id="create-title">New license</h2>
      <label htmlFor="tier">Tier</label>
      <input id="tier" name="tier" required maxLength={64} defaultValue="pro" />
      <label htmlFor="features">Features</label>
      <input id="features" name="features" placeholder="export, sso (comma-separated)" aria-describedby="features-hint" />
      <span id="features-hint" className="hint">
        Comma-separated entitlements the app can check.
      </span>
      <label htmlFor="maxSeats">Seats (concurrent)</label>
      <input id="maxSeats" name="maxSeats" type="number" min={1} required defaultValue={5} />
      <label htmlFor="maxMachines">Machines (activated at once)</label>
      <input id="maxMachines" name="maxMachines" type="number" min={1} placeholder="unlimited" />
      <label htmlFor="leaseSeconds">Lease length (seconds)</label>
      <input id="leaseSeconds" name="leaseSeconds" type="number" min={1} placeholder="server default" />
      <label htmlFor="expiresAt">Expires</label>
      <input id="expiresAt" name="expiresAt" type="datetime-local" />
      <ErrorMessage>{error}</ErrorMessage>
      <div className="actions">
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="primary">
          Create license
        </button>
      </div>
    </form>
  );
}
