/** One license: its live seat gauge, its sessions as they come and go (force-release), and its lifecycle and limits. */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { Link } from 'wouter';
import { errorMessage } from '../session.ts';
import { graphql, type ResultOf } from '../graphql.ts';
import { newer, useLicenseSeats, type SeatCount } from '../seats.ts';
import { Badge, ConfirmButton, EmptyState, type ConfirmProps, ErrorMessage, failureOf, SeatGauge, Time } from '../ui.tsx';
import { Can } from '../viewer.tsx';
import { Utilization, Verifications } from './LicenseHistory.tsx';
import { LicenseMachines } from './LicenseMachines.tsx';

const LICENSE = graphql(`
  query License($id: ID!) {
    license(id: $id) {
      id
      tier
      status
      keyHint
      features
      maxSeats
      maxMachines
      maxDeactivationsPerMonth
      leaseSeconds
      reviveSeconds
      overage
      lingerSeconds
      leasingStrategy
      maxProcessesPerMachine
      queue {
        enabled
        maxLength
        claimSeconds
      }
      maxBorrowDays
      maxBorrowedSeats
      expiresAt
      createdAt
      updatedAt
      seats {
        licenseId
        used
        max
        overage
        queued
        borrowed
        changedAt
      }
    }
  }
`);

const SESSIONS = graphql(`
  query LicenseSessions($licenseId: ID!) {
    sessions(licenseId: $licenseId, active: true, first: 100) {
      edges {
        node {
          id
          fingerprint
          clientInfo
          startedAt
          lastHeartbeatAt
          expiresAt
        }
      }
      pageInfo {
        hasNextPage
      }
    }
  }
`);

const LICENSE_CHANGED = graphql(`fragment LicenseChanged on LicenseUpdated { license { id } }`);
const REFUSAL = graphql(`fragment Refusal on Error { message }`);
// Each answer names the License it changed, so the cache asks again for every query that shows it.
const SUSPEND = graphql(
  `mutation Suspend($input: LicenseStatusChangeInput!) { suspendLicense(input: $input) { __typename ...LicenseChanged ...Refusal } }`,
  [LICENSE_CHANGED, REFUSAL],
);
const REINSTATE = graphql(
  `mutation Reinstate($input: LicenseStatusChangeInput!) { reinstateLicense(input: $input) { __typename ...LicenseChanged ...Refusal } }`,
  [LICENSE_CHANGED, REFUSAL],
);
const REVOKE = graphql(
  `mutation Revoke($input: LicenseStatusChangeInput!) { revokeLicense(input: $input) { __typename ...LicenseChanged ...Refusal } }`,
  [LICENSE_CHANGED, REFUSAL],
);
const RENEW = graphql(
  `mutation Renew($input: RenewLicenseInput!) { renewLicense(input: $input) { __typename ...LicenseChanged ...Refusal } }`,
  [LICENSE_CHANGED, REFUSAL],
);
const UPDATE = graphql(
  `mutation UpdateLicense($input: UpdateLicenseInput!) { updateLicense(input: $input) { __typename ...LicenseChanged ...Refusal } }`,
  [LICENSE_CHANGED, REFUSAL],
);

const REVOKE_SESSION = graphql(`
  mutation RevokeSession($input: RevokeSessionInput!) {
    revokeSession(input: $input) {
      __typename
      ... on SessionRevoked {
        session {
          id
          endedAt
          endReason
        }
      }
      ... on Error {
        message
      }
    }
  }
`);

type LicenseView = NonNullable<ResultOf<typeof LICENSE>['license']>;

export function License({ id }: { id: string }) {
  const [{ data, error, fetching }] = useQuery({ query: LICENSE, variables: { id } });
  if (error) return <ErrorMessage>{errorMessage(error)}</ErrorMessage>;
  if (fetching && !data) return <p aria-busy="true">Loading…</p>;
  if (!data?.license)
    return (
      <EmptyState title="No license with this id.">
        <Link href="/licenses">Back to licenses</Link>
      </EmptyState>
    );
  return <LicenseDetail license={data.license} />;
}

function LicenseDetail({ license }: { license: LicenseView }) {
  const live = useLicenseSeats(license.id);
  const seats = newer(license.seats, live)!;
  // The sessions shown, once they agree with the count: a new machine's row is written with its session's.
  const [shownSessions, setShownSessions] = useState('');
  return (
    <section aria-labelledby="license-title">
      <p className="crumbs">
        <Link href="/licenses">Licenses</Link> /
      </p>
      <header className="page-header">
        <h1 id="license-title">
          {license.id} <Badge status={license.status} />
        </h1>
        <Lifecycle license={license} />
      </header>
      <div className="cards">
        <article className="card" aria-labelledby="seats-title">
          <h2 id="seats-title">Seats</h2>
          <SeatGauge used={seats.used} max={seats.max} size="large" />
          <SeatMakeup seats={seats} />
          <p className="muted">
            Updated <Time at={seats.changedAt} />
          </p>
        </article>
        <article className="card" aria-labelledby="terms-title">
          <h2 id="terms-title">Terms</h2>
          <dl className="terms">
            <dt>Tier</dt>
            <dd>{license.tier}</dd>
            <dt>Features</dt>
            <dd>{license.features.length ? license.features.join(', ') : 'none'}</dd>
            <dt>Machines</dt>
            <dd>{license.maxMachines ?? 'unlimited'}</dd>
            <dt>Deactivations</dt>
            <dd>{license.maxDeactivationsPerMonth === null ? 'unlimited' : `${license.maxDeactivationsPerMonth} per month`}</dd>
            <dt>Seats are</dt>
            <dd>{seatsAre(license)}</dd>
            <dt>Past the limit</dt>
            <dd>{OVERAGE[license.overage]}</dd>
            <dt>After release</dt>
            <dd>{license.lingerSeconds > 0 ? `kept ${license.lingerSeconds} s for the same machine` : 'free at once'}</dd>
            <dt>When full</dt>
            <dd>
              {license.queue.enabled
                ? `a line of up to ${license.queue.maxLength}, ${license.queue.claimSeconds} s to claim`
                : 'refused (no queue)'}
            </dd>
            <dt>Borrowing</dt>
            <dd>
              {license.maxBorrowDays > 0
                ? `up to ${license.maxBorrowDays} days, ${license.maxBorrowedSeats === null ? 'any number of seats' : `${license.maxBorrowedSeats} ${license.maxBorrowedSeats === 1 ? 'seat' : 'seats'} at once`}`
                : 'not allowed'}
            </dd>
            <dt>Lease</dt>
            <dd>{license.leaseSeconds} s</dd>
            <dt>Key</dt>
            <dd>ends in {license.keyHint}</dd>
            <dt>Expires</dt>
            <dd>
              <Time at={license.expiresAt} empty="Never" />
            </dd>
            <dt>Created</dt>
            <dd>
              <Time at={license.createdAt} />
            </dd>
          </dl>
        </article>
      </div>
      <Sessions licenseId={license.id} seats={seats} onShown={setShownSessions} />
      <LicenseMachines licenseId={license.id} sessions={shownSessions} />
      <Utilization licenseId={license.id} />
      <Verifications licenseId={license.id} />
      <Can scope="licenses:write">
        <EditLimits license={license} />
      </Can>
    </section>
  );
}

const OVERAGE = {
  NONE: 'refused',
  ALLOW_1_25X: 'granted up to 1.25 × the seats',
  ALLOW_1_5X: 'granted up to 1.5 × the seats',
  ALLOW_2X: 'granted up to 2 × the seats',
  ALWAYS: 'always granted',
} as const;

function seatsAre(license: { leasingStrategy: 'PER_MACHINE' | 'PER_USER' | 'PER_PROCESS'; maxProcessesPerMachine: number | null }) {
  if (license.leasingStrategy === 'PER_USER') return 'per user (one seat across their machines)';
  if (license.leasingStrategy === 'PER_PROCESS') {
    return `per process${license.maxProcessesPerMachine === null ? '' : `, at most ${license.maxProcessesPerMachine} per machine`}`;
  }
  return 'per machine';
}

/** What the seats in use are made of, when it is more than plain leases. */
function SeatMakeup({ seats }: { seats: SeatCount }) {
  const parts = [
    seats.overage ? `${seats.overage} past the limit` : '',
    seats.borrowed ? `${seats.borrowed} borrowed for offline use` : '',
    seats.queued ? `${seats.queued} waiting in line` : '',
  ].filter(Boolean);
  return parts.length > 0 ? <p aria-label="Seat details">{parts.join(' · ')}</p> : null;
}

/** The longest the sessions table shows of what an app said of itself; the whole of it is the cell's title. */
const CLIENT_INFO_SHOWN = 80;

/** What an app sent as clientInfo (any JSON, at most 4 kB): its top-level fields as "name value", shortened. */
function ClientInfo({ info }: { info: unknown }) {
  if (info === null || info === undefined) return <span className="muted">none</span>;
  const whole = JSON.stringify(info);
  const text =
    typeof info === 'object' && !Array.isArray(info)
      ? Object.entries(info as Record<string, unknown>)
          .map(([name, value]) => `${name} ${typeof value === 'string' ? value : JSON.stringify(value)}`)
          .join(' · ')
      : whole;
  return <span title={whole}>{text.length > CLIENT_INFO_SHOWN ? `${text.slice(0, CLIENT_INFO_SHOWN - 1)}…` : text}</span>;
}

/** How often, and how many times, sessions are asked again while they disagree with the live count. */
const SETTLE_MS = 400;
const SETTLE_TRIES = 10;

/**
 * The license's open sessions, asked again whenever its seat count changes. The count is
 * published the instant the seat store decides, the session row is written just after: while
 * the two disagree, the sessions are asked again, a few times.
 */
function Sessions({ licenseId, seats, onShown }: { licenseId: string; seats: SeatCount; onShown: (sessionIds: string) => void }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: SESSIONS, variables: { licenseId } });
  const [, revokeSession] = useMutation(REVOKE_SESSION);
  const tries = useRef(0);
  useEffect(() => {
    tries.current = 0;
    refetch({ requestPolicy: 'network-only' });
  }, [seats.changedAt, refetch]);
  const sessions = data?.sessions.edges ?? [];
  const settled = !data || data.sessions.pageInfo.hasNextPage || sessions.length === seats.used;
  const shown = sessions.map(({ node }) => node.id).join(' ');
  useEffect(() => onShown(shown), [shown, onShown]);
  useEffect(() => {
    if (settled || fetching || tries.current >= SETTLE_TRIES) return;
    const timer = setTimeout(() => {
      tries.current += 1;
      refetch({ requestPolicy: 'network-only' });
    }, SETTLE_MS);
    return () => clearTimeout(timer);
  }, [settled, fetching, data, refetch]);
  return (
    <section aria-labelledby="sessions-title">
      <h2 id="sessions-title">Active sessions</h2>
      <ErrorMessage>{error && errorMessage(error)}</ErrorMessage>
      {data && sessions.length === 0 ? (
        <EmptyState title="No machine holds a seat right now." />
      ) : (
        <table aria-label="Active sessions">
          <thead>
            <tr>
              <th scope="col">Fingerprint</th>
              <th scope="col">Client</th>
              <th scope="col">Started</th>
              <th scope="col">Last heartbeat</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.map(({ node }) => (
              <tr key={node.id}>
                <td>
                  <code>{node.fingerprint}</code>
                </td>
                <td>
                  <ClientInfo info={node.clientInfo} />
                </td>
                <td>
                  <Time at={node.startedAt} />
                </td>
                <td>
                  <Time at={node.lastHeartbeatAt} />
                </td>
                <td>
                  <Time at={node.expiresAt} />
                </td>
                <td>
                  <Can scope="seats:admin">
                    <ConfirmButton
                      label="Release"
                      context={node.fingerprint}
                      title="Force-release this seat?"
                      description={
                        <p>
                          The seat of <code>{node.fingerprint}</code> is freed at once and its next heartbeat is refused: the app must
                          acquire again.
                        </p>
                      }
                      confirmLabel="Release seat"
                      onConfirm={async () => {
                        const result = await revokeSession({ input: { id: node.id } });
                        return failureOf(result, 'SessionRevoked');
                      }}
                    />
                  </Can>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

type StatusDocument = typeof SUSPEND | typeof REINSTATE | typeof REVOKE;

/** A change of the license's status, confirmed first, with a reason for the audit log. */
function StatusChange({
  licenseId,
  document,
  ...confirm
}: { licenseId: string; document: StatusDocument } & Omit<ConfirmProps, 'onConfirm' | 'reasonLabel'>) {
  const [, change] = useMutation(document as typeof SUSPEND);
  return (
    <ConfirmButton
      {...confirm}
      reasonLabel="Reason (recorded in the audit log)"
      onConfirm={async (reason) =>
        failureOf(await change({ input: { id: licenseId, ...(reason.trim() ? { reason: reason.trim() } : {}) } }), 'LicenseUpdated')
      }
    />
  );
}

function Lifecycle({ license }: { license: LicenseView }) {
  const [, renew] = useMutation(RENEW);
  const [renewing, setRenewing] = useState(false);
  const [renewError, setRenewError] = useState<string | null>(null);
  return (
    <Can scope="licenses:write">
      <div className="actions">
        {license.status === 'ACTIVE' && (
          <StatusChange
            licenseId={license.id}
            document={SUSPEND}
            label="Suspend"
            title="Suspend this license?"
            description={<p>Every live session ends now and no seat is granted until the license is reinstated.</p>}
            confirmLabel="Suspend license"
          />
        )}
        {license.status === 'SUSPENDED' && (
          <StatusChange
            licenseId={license.id}
            document={REINSTATE}
            label="Reinstate"
            danger={false}
            title="Reinstate this license?"
            description={<p>Apps can take seats again at once.</p>}
            confirmLabel="Reinstate license"
          />
        )}
        {license.status !== 'REVOKED' && (
          <>
            <button type="button" onClick={() => setRenewing(!renewing)} aria-expanded={renewing}>
              Renew
            </button>
            <StatusChange
              licenseId={license.id}
              document={REVOKE}
              label="Revoke"
              title="Revoke this license for good?"
              description={<p>Every live session ends and the key never works again. This cannot be undone.</p>}
              confirmLabel="Revoke license"
            />
          </>
        )}
      </div>
      {renewing && (
        <form
          className="panel inline-form"
          aria-label="Renew license"
          onSubmit={async (event) => {
            event.preventDefault();
            const value = String(new FormData(event.currentTarget).get('renewTo'));
            const failure = failureOf(
              await renew({ input: { id: license.id, expiresAt: new Date(value).toISOString() } }),
              'LicenseUpdated',
            );
            setRenewError(failure);
            if (!failure) setRenewing(false);
          }}
        >
          <label htmlFor="renewTo">New expiry</label>
          <input id="renewTo" name="renewTo" type="datetime-local" required />
          <button type="submit" className="primary">
            Renew
          </button>
          <ErrorMessage>{renewError}</ErrorMessage>
        </form>
      )}
    </Can>
  );
}

function EditLimits({ license }: { license: LicenseView }) {
  const [, update] = useMutation(UPDATE);
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const machines = String(form.get('maxMachines') ?? '').trim();
    const deactivations = String(form.get('maxDeactivationsPerMonth') ?? '').trim();
    const result = await update({
      input: {
        id: license.id,
        tier: String(form.get('tier')).trim(),
        maxSeats: Number(form.get('maxSeats')),
        maxMachines: machines === '' ? null : Number(machines),
        maxDeactivationsPerMonth: deactivations === '' ? null : Number(deactivations),
        leaseSeconds: Number(form.get('leaseSeconds')),
        features: String(form.get('features'))
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean),
      },
    });
    const failure = failureOf(result, 'LicenseUpdated');
    setMessage(failure ? { error: true, text: failure } : { error: false, text: 'Saved.' });
  }
  return (
    <form className="panel grid-form" aria-labelledby="limits-title" onSubmit={submit} key={license.updatedAt}>
      <h2 id="limits-title">Limits and features</h2>
      <label htmlFor="edit-tier">Tier</label>
      <input id="edit-tier" name="tier" required defaultValue={license.tier} />
      <label htmlFor="edit-seats">Seats (concurrent)</label>
      <input id="edit-seats" name="maxSeats" type="number" min={1} required defaultValue={license.maxSeats} />
      <label htmlFor="edit-machines">Machines (activated at once)</label>
      <input id="edit-machines" name="maxMachines" type="number" min={1} placeholder="unlimited" defaultValue={license.maxMachines ?? ''} />
      <label htmlFor="edit-deactivations">Machine deactivations per month</label>
      <input
        id="edit-deactivations"
        name="maxDeactivationsPerMonth"
        type="number"
        min={0}
        placeholder="unlimited"
        defaultValue={license.maxDeactivationsPerMonth ?? ''}
      />
      <label htmlFor="edit-lease">Lease length (seconds)</label>
      <input id="edit-lease" name="leaseSeconds" type="number" min={1} required defaultValue={license.leaseSeconds} />
      <label htmlFor="edit-features">Features</label>
      <input id="edit-features" name="features" defaultValue={license.features.join(', ')} />
      {message?.error ? <ErrorMessage>{message.text}</ErrorMessage> : message && <p role="status">{message.text}</p>}
      <div className="actions">
        <button type="submit" className="primary">
          Save limits
        </button>
      </div>
    </form>
  );
}
