/**
 * Webhooks: endpoints (create with the secret shown once, enable and disable, rotate the secret
 * with overlap, test send, delete), delivery metrics over a chosen range, and the deliveries
 * table filtered by status, event type and endpoint, updated live, with each attempt's detail
 * and redelivery.
 */
import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { graphql, readFragment, type ResultOf } from '../graphql.ts';
import { errorMessage } from '../session.ts';
import {
  Badge,
  ConfirmButton,
  Context,
  EmptyState,
  ErrorMessage,
  failureOf,
  Pager,
  rangeOf,
  RangeSelect,
  SecretOnce,
  Stat,
  Time,
  usePages,
  type RangeKey,
} from '../ui.tsx';
import { Can } from '../viewer.tsx';

const ENDPOINT_FIELDS = graphql(`
  fragment EndpointFields on WebhookEndpoint {
    id
    url
    description
    eventTypes
    enabled
    disabledReason
    failingSince
    previousSecretExpiresAt
    createdAt
  }
`);

const DELIVERY_FIELDS = graphql(`
  fragment DeliveryFields on WebhookDelivery {
    id
    endpointId
    eventId
    eventType
    status
    attemptCount
    createdAt
    lastAttemptAt
    nextAttemptAt
    deliveredAt
    updatedAt
  }
`);

const ENDPOINTS = graphql(`query WebhookEndpoints { webhookEndpoints { ...EndpointFields } webhookEventTypes }`, [ENDPOINT_FIELDS]);
const DELIVERIES = graphql(
  `query WebhookDeliveries($filter: WebhookDeliveryFilter, $after: String) { webhookDeliveries(first: 25, filter: $filter, after: $after) { edges { node { ...DeliveryFields } } pageInfo { endCursor hasNextPage } } }`,
  [DELIVERY_FIELDS],
);
const ATTEMPTS = graphql(`
  query DeliveryAttempts($id: ID!) {
    webhookDelivery(id: $id) {
      id
      attempts {
        attempt
        createdAt
        statusCode
        durationMs
        error
        responseBody
      }
    }
  }
`);
const DELIVERY_UPDATES = graphql(`subscription DeliveryUpdates { webhookDeliveryUpdated { ...DeliveryFields } }`, [DELIVERY_FIELDS]);
const METRICS = graphql(`
  query WebhookMetrics($from: DateTime!, $to: DateTime!) {
    webhookMetrics(from: $from, to: $to) {
      total
      delivered
      failed
      retrying
      pending
      dead
      disabled
      replayExpired
      failedAttempts
      averageAttempts
      p95DeliveryLatencyMs
    }
  }
`);

const REFUSAL = graphql(`fragment WebhookRefusal on Error { message }`);
const CREATE = graphql(
  `mutation CreateEndpoint($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { __typename ...WebhookRefusal ... on WebhookEndpointCreated { secret endpoint { ...EndpointFields } } } }`,
  [ENDPOINT_FIELDS, REFUSAL],
);
const UPDATE = graphql(
  `mutation UpdateEndpoint($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { __typename ...WebhookRefusal ... on WebhookEndpointUpdated { endpoint { ...EndpointFields } } } }`,
  [ENDPOINT_FIELDS, REFUSAL],
);
const ROTATE = graphql(
  `mutation RotateEndpointSecret($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) { __typename ...WebhookRefusal ... on WebhookSecretRotated { secret endpoint { ...EndpointFields } } } }`,
  [ENDPOINT_FIELDS, REFUSAL],
);
const DELETE = graphql(
  `mutation DeleteEndpoint($input: DeleteWebhookEndpointInput!) { deleteWebhookEndpoint(input: $input) { __typename ...WebhookRefusal ... on WebhookEndpointDeleted { endpoint { id } } } }`,
  [REFUSAL],
);
const SEND_TEST = graphql(
  `mutation SendTestWebhook($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { __typename ...WebhookRefusal ... on WebhookDeliveryQueued { delivery { id } } } }`,
  [REFUSAL],
);
const REDELIVER = graphql(
  `mutation Redeliver($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) { __typename ...WebhookRefusal ... on WebhookDeliveryQueued { delivery { ...DeliveryFields } } } }`,
  [DELIVERY_FIELDS, REFUSAL],
);

type Endpoint = ResultOf<typeof ENDPOINT_FIELDS>;
type Delivery = ResultOf<typeof DELIVERY_FIELDS>;

const STATUSES = ['PENDING', 'RETRYING', 'DELIVERED', 'FAILED', 'DEAD', 'REPLAY_EXPIRED', 'DISABLED'] as const;
type Status = (typeof STATUSES)[number];
/** The statuses redeliverWebhook accepts: the delivery is done, one way or the other. */
const REDELIVERABLE = new Set<string>(['DELIVERED', 'DEAD', 'REPLAY_EXPIRED', 'DISABLED']);

export function Webhooks() {
  const [{ data, error }, refetch] = useQuery({ query: ENDPOINTS });
  const endpoints = readFragment(ENDPOINT_FIELDS, data?.webhookEndpoints ?? []);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ title: string; value: string } | null>(null);
  const reveal = (title: string, value: string) => (setSecret({ title, value }), refetch({ requestPolicy: 'network-only' }));
  return (
    <section aria-labelledby="webhooks-title">
      <header className="page-header">
        <h1 id="webhooks-title">Webhooks</h1>
        <Can scope="webhooks:write">
          <button type="button" className="primary" onClick={() => (setCreating(true), setSecret(null))} disabled={creating}>
            New endpoint
          </button>
        </Can>
      </header>
      {secret && (
        <section className="panel" aria-labelledby="secret-title">
          <h2 id="secret-title">{secret.title}</h2>
          <SecretOnce label="Signing secret" value={secret.value} />
          <button type="button" onClick={() => setSecret(null)}>
            Done
          </button>
        </section>
      )}
      {creating && (
        <CreateEndpoint
          eventTypes={data?.webhookEventTypes ?? []}
          onClose={() => setCreating(false)}
          onCreated={(value) => reveal('Endpoint created', value)}
        />
      )}
      <ErrorMessage>{error && errorMessage(error)}</ErrorMessage>
      <h2>Endpoints</h2>
      {data && endpoints.length === 0 ? (
        <EmptyState title="No endpoints yet.">
          <p>An endpoint receives every event it subscribes to, signed, and retried until it answers 2xx.</p>
        </EmptyState>
      ) : (
        <table aria-label="Endpoints">
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">State</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {endpoints.map((endpoint) => (
              <EndpointRow key={endpoint.id} endpoint={endpoint} onRotated={(value) => reveal('Secret rotated', value)} />
            ))}
          </tbody>
        </table>
      )}
      <Metrics />
      <Deliveries endpoints={endpoints} />
    </section>
  );
}

function EndpointRow({ endpoint, onRotated }: { endpoint: Endpoint; onRotated: (secret: string) => void }) {
  const [, update] = useMutation(UPDATE);
  const [, remove] = useMutation(DELETE);
  const [, sendTest] = useMutation(SEND_TEST);
  const [message, setMessage] = useState<string | null>(null);
  return (
    <tr>
      <td>
        <code>{endpoint.url}</code>
        {endpoint.description && <div className="hint">{endpoint.description}</div>}
      </td>
      <td>{endpoint.eventTypes.join(', ')}</td>
      <td>
        <Badge status={endpoint.enabled ? 'ENABLED' : 'DISABLED'} />
        {endpoint.disabledReason && <div className="hint">{endpoint.disabledReason}</div>}
        {endpoint.failingSince && (
          <div className="hint">
            Failing since <Time at={endpoint.failingSince} />
          </div>
        )}
        {endpoint.previousSecretExpiresAt && (
          <div className="hint">
            Old secret signs until <Time at={endpoint.previousSecretExpiresAt} />
          </div>
        )}
      </td>
      <td>
        <Can scope="webhooks:write">
          <div className="actions">
            <button
              type="button"
              onClick={async () =>
                setMessage(failureOf(await update({ input: { id: endpoint.id, enabled: !endpoint.enabled } }), 'WebhookEndpointUpdated'))
              }
            >
              {endpoint.enabled ? 'Disable' : 'Enable'}
              <Context>{endpoint.url}</Context>
            </button>
            <button
              type="button"
              onClick={async () => {
                const failure = failureOf(await sendTest({ input: { endpointId: endpoint.id } }), 'WebhookDeliveryQueued');
                setMessage(failure ?? 'A webhook.test event is on its way.');
              }}
            >
              Send test<Context>to {endpoint.url}</Context>
            </button>
            <RotateSecret endpoint={endpoint} onRotated={onRotated} />
            <ConfirmButton
              label="Delete"
              context={endpoint.url}
              title="Delete this endpoint?"
              description={
                <p>
                  <code>{endpoint.url}</code> receives nothing more, and its deliveries are removed.
                </p>
              }
              confirmLabel="Delete endpoint"
              onConfirm={async () => failureOf(await remove({ input: { id: endpoint.id } }), 'WebhookEndpointDeleted')}
            />
          </div>
          {message && <p role="status">{message}</p>}
        </Can>
      </td>
    </tr>
  );
}

function RotateSecret({ endpoint, onRotated }: { endpoint: Endpoint; onRotated: (secret: string) => void }) {
  const [, rotate] = useMutation(ROTATE);
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const overlapSeconds = Number(new FormData(event.currentTarget).get('overlapSeconds'));
    const result = await rotate({ input: { id: endpoint.id, overlapSeconds } });
    const failure = failureOf(result, 'WebhookSecretRotated');
    setError(failure);
    if (failure || result.data?.rotateWebhookSecret.__typename !== 'WebhookSecretRotated') return;
    dialog.current?.close();
    onRotated(result.data.rotateWebhookSecret.secret);
  }
  return (
    <>
      <button type="button" onClick={() => dialog.current?.showModal()}>
        Rotate secret<Context>of {endpoint.url}</Context>
      </button>
      <dialog ref={dialog} aria-labelledby={`${id}-title`} onClose={() => setError(null)}>
        <form onSubmit={submit}>
          <h2 id={`${id}-title`}>Rotate the signing secret</h2>
          <p>Both secrets sign every delivery during the overlap, so the receiver can switch without missing one.</p>
          <p>
            <label htmlFor={`${id}-overlap`}>Overlap (seconds, at most 7 days)</label>
            <input id={`${id}-overlap`} name="overlapSeconds" type="number" min={0} max={604800} defaultValue={86400} required />
          </p>
          <ErrorMessage>{error}</ErrorMessage>
          <div className="actions">
            <button type="button" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
            <button type="submit" className="primary">
              Rotate secret
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

function CreateEndpoint({
  eventTypes,
  onClose,
  onCreated,
}: {
  eventTypes: string[];
  onClose: () => void;
  onCreated: (secret: string) => void;
}) {
  const [, create] = useMutation(CREATE);
  const [error, setError] = useState<string | null>(null);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const description = String(form.get('description') ?? '').trim();
    const result = await create({
      input: {
        url: String(form.get('url')).trim(),
        eventTypes: String(form.get('eventTypes'))
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        ...(description ? { description } : {}),
      },
    });
    const failure = failureOf(result, 'WebhookEndpointCreated');
    setError(failure);
    if (failure || result.data?.createWebhookEndpoint.__typename !== 'WebhookEndpointCreated') return;
    onClose();
    onCreated(result.data.createWebhookEndpoint.secret);
  }
  return (
    <form className="panel grid-form" aria-labelledby="new-endpoint-title" onSubmit={submit}>
      <h2 id="new-endpoint-title">New endpoint</h2>
      <label htmlFor="endpoint-url">URL</label>
      <input id="endpoint-url" name="url" type="url" required placeholder="https://billing.example.com/hooks/leasehold" />
      <label htmlFor="endpoint-events">Event types</label>
      <input id="endpoint-events" name="eventTypes" required defaultValue="*" aria-describedby="endpoint-events-hint" />
      <span id="endpoint-events-hint" className="hint">
        Comma-separated; patterns such as license.* or * match several. Known types: {eventTypes.join(', ')}.
      </span>
      <label htmlFor="endpoint-description">Description</label>
      <input id="endpoint-description" name="description" maxLength={500} />
      <ErrorMessage>{error}</ErrorMessage>
      <div className="actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="submit" className="primary">
          Create endpoint
        </button>
      </div>
    </form>
  );
}

/** Delivery counts over the chosen range, asked again (at most every 2 s) as deliveries change. */
export function Metrics() {
  const [rangeKey, setRangeKey] = useState<RangeKey>('day');
  const [range, setRange] = useState(() => rangeOf('day'));
  const [{ data, error }] = useQuery({ query: METRICS, variables: range });
  const [{ data: update }] = useSubscription({ query: DELIVERY_UPDATES });
  useEffect(() => {
    if (!update) return;
    const timer = setTimeout(() => setRange(rangeOf(rangeKey)), 2000);
    return () => clearTimeout(timer);
  }, [update, rangeKey]);
  const m = data?.webhookMetrics;
  return (
    <section aria-labelledby="metrics-title" className="panel">
      <header className="page-header">
        <h2 id="metrics-title">Deliveries by status</h2>
        <RangeSelect id="metrics-range" value={rangeKey} onChange={(key) => (setRangeKey(key), setRange(rangeOf(key)))} />
      </header>
      <ErrorMessage>{error && errorMessage(error)}</ErrorMessage>
      {m && (
        <dl className="stats">
          <Stat label="Delivered" value={m.delivered} />
          <Stat label="Failed, retry due" value={m.failed} />
          <Stat label="Retrying" value={m.retrying} />
          <Stat label="Pending" value={m.pending} />
          <Stat label="Dead" value={m.dead} />
          <Stat label="Disabled" value={m.disabled} />
          <Stat label="Average attempts" value={m.averageAttempts?.toFixed(2) ?? '—'} />
          <Stat label="p95 latency" value={m.p95DeliveryLatencyMs === null ? '—' : `${m.p95DeliveryLatencyMs} ms`} />
        </dl>
      )}
    </section>
  );
}

const matchesType = (pattern: string, type: string) =>
  pattern === '' || pattern === '*' || pattern === type || (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1)));

function Deliveries({ endpoints }: { endpoints: readonly Endpoint[] }) {
  const [status, setStatus] = useState<Status | ''>('');
  const [eventType, setEventType] = useState('');
  const [endpointId, setEndpointId] = useState('');
  const pages = usePages();
  const filter = useMemo(
    () => ({
      ...(status ? { status } : {}),
      ...(eventType.trim() ? { eventType: eventType.trim() } : {}),
      ...(endpointId ? { endpointId } : {}),
    }),
    [status, eventType, endpointId],
  );
  const [{ data, error }] = useQuery({ query: DELIVERIES, variables: { filter, after: pages.after } });
  // Live: rows shown are updated in place; a new delivery that matches the filters joins the first page.
  const [{ data: live }] = useSubscription({ query: DELIVERY_UPDATES }, (updates: Record<string, Delivery> = {}, event) => {
    const delivery = readFragment(DELIVERY_FIELDS, event.webhookDeliveryUpdated);
    return { ...updates, [delivery.id]: delivery };
  });
  // A delivery acted on here stays in view while it leaves the filter (a DEAD one redelivered is soon DELIVERED).
  const [kept, setKept] = useState<Delivery[]>([]);
  const keep = (delivery: Delivery) => setKept((list) => (list.some((d) => d.id === delivery.id) ? list : [delivery, ...list]));
  const queried = readFragment(DELIVERY_FIELDS, data?.webhookDeliveries.edges.map((e) => e.node) ?? []);
  const updates = live ?? {};
  const shown = new Set(queried.map((d) => d.id));
  const stillKept = kept.filter((d) => !shown.has(d.id));
  for (const d of stillKept) shown.add(d.id);
  const arrived =
    pages.first
      ? Object.values(updates).filter(
          (d) =>
            !shown.has(d.id) &&
            (!status || d.status === status) &&
            matchesType(eventType.trim(), d.eventType) &&
            (!endpointId || d.endpointId === endpointId) &&
            (!data || queried.length === 0 || Date.parse(d.createdAt) >= Date.parse(queried[0]!.createdAt)),
        )
      : [];
  const rows = [
    ...arrived.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt)),
    ...[...stillKept, ...queried].map((d) => newest(d, updates[d.id])),
  ];
  const urlOf = new Map(endpoints.map((e) => [e.id, e.url]));
  const reset = () => (pages.reset(), setKept([]));
  return (
    <section aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Recent deliveries</h2>
      <form className="filters" aria-label="Filter deliveries" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={status} onChange={(e) => (setStatus(e.target.value as Status | ''), reset())}>
            <option value="">Any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Event type
          <input value={eventType} onChange={(e) => (setEventType(e.target.value), reset())} placeholder="seat.*" />
        </label>
        <label>
          Endpoint
          <select value={endpointId} onChange={(e) => (setEndpointId(e.target.value), reset())}>
            <option value="">Any</option>
            {endpoints.map((e) => (
              <option key={e.id} value={e.id}>
                {e.url}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorMessage>{error && errorMessage(error)}</ErrorMessage>
      {data && rows.length === 0 ? (
        <EmptyState title={status || eventType || endpointId ? 'No delivery matches these filters.' : 'No deliveries yet.'} />
      ) : (
        <table aria-label="Deliveries">
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Endpoint</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last attempt</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((delivery) => (
              <DeliveryRow key={delivery.id} delivery={delivery} endpointUrl={urlOf.get(delivery.endpointId)} onAct={keep} />
            ))}
          </tbody>
        </table>
      )}
      <Pager label="Pages of deliveries" pages={pages} pageInfo={data?.webhookDeliveries.pageInfo} />
    </section>
  );
}

/** The later of a delivery as queried and as last announced. */
const newest = (queried: Delivery, announced: Delivery | undefined) =>
  announced && Date.parse(announced.updatedAt) >= Date.parse(queried.updatedAt) ? announced : queried;

function DeliveryRow({
  delivery,
  endpointUrl,
  onAct,
}: {
  delivery: Delivery;
  endpointUrl: string | undefined;
  onAct: (delivery: Delivery) => void;
}) {
  const [open, setOpen] = useState(false);
  const [, redeliver] = useMutation(REDELIVER);
  const [error, setError] = useState<string | null>(null);
  const detailId = useId();
  return (
    <>
      <tr>
        <td>
          <code>{delivery.eventType}</code>
          <div className="hint">
            <Time at={delivery.createdAt} />
          </div>
        </td>
        <td>
          <code>{endpointUrl ?? delivery.endpointId}</code>
        </td>
        <td>
          <Badge status={delivery.status} />
          {delivery.nextAttemptAt && (
            <div className="hint">
              Next <Time at={delivery.nextAttemptAt} />
            </div>
          )}
        </td>
        <td>{delivery.attemptCount}</td>
        <td>
          <Time at={delivery.lastAttemptAt} empty="Not yet" />
        </td>
        <td>
          <div className="actions">
            <button type="button" aria-expanded={open} aria-controls={detailId} onClick={() => setOpen(!open)}>
              Attempts<Context>of {delivery.id}</Context>
            </button>
            {REDELIVERABLE.has(delivery.status) && (
              <Can scope="webhooks:write">
                <button
                  type="button"
                  onClick={async () => {
                    onAct(delivery);
                    setError(failureOf(await redeliver({ input: { deliveryId: delivery.id } }), 'WebhookDeliveryQueued'));
                  }}
                >
                  Redeliver<Context>{delivery.id}</Context>
                </button>
              </Can>
            )}
          </div>
          <ErrorMessage>{error}</ErrorMessage>
        </td>
      </tr>
      {open && (
        <tr id={detailId}>
          <td colSpan={6}>
            <Attempts delivery={delivery} />
          </td>
        </tr>
      )}
    </>
  );
}

/** A delivery's attempts, asked when opened and again whenever the delivery changes. */
function Attempts({ delivery }: { delivery: Delivery }) {
  const [{ data, error }, refetch] = useQuery({ query: ATTEMPTS, variables: { id: delivery.id } });
  useEffect(() => refetch({ requestPolicy: 'network-only' }), [delivery.updatedAt, refetch]);
  const attempts = data?.webhookDelivery?.attempts ?? [];
  if (error) return <ErrorMessage>{errorMessage(error)}</ErrorMessage>;
  if (data && attempts.length === 0) return <p className="muted">No attempt yet.</p>;
  return (
    <table aria-label={`Attempts of ${delivery.id}`} className="attempts">
      <thead>
        <tr>
          <th scope="col">Attempt</th>
          <th scope="col">At</th>
          <th scope="col">Answer</th>
          <th scope="col">Duration</th>
          <th scope="col">Error</th>
          <th scope="col">Response (first 2 KB)</th>
        </tr>
      </thead>
      <tbody>
        {attempts.map((a) => (
          <tr key={a.attempt}>
            <td>{a.attempt}</td>
            <td>
              <Time at={a.createdAt} />
            </td>
            <td>{a.statusCode ?? 'no answer'}</td>
            <td>{a.durationMs} ms</td>
            <td>{a.error ?? ''}</td>
            <td>
              <code className="excerpt">{a.responseBody ?? ''}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
