/** API keys: create (scopes, IP allowlist checked as you type, expiry; the secret shown once), rotate with or without a new id and a grace period, edit the allowlist, revoke with a reason. */
import { useId, useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { validateCidr } from '../../../src/lib/ipAddress.ts';
import { graphql, readFragment, type ResultOf } from '../graphql.ts';
import { errorMessage } from '../session.ts';
import { Badge, ConfirmButton, Context, EmptyState, ErrorMessage, failureOf, SecretOnce, Time } from '../ui.tsx';
import { Can, useViewer } from '../viewer.tsx';

const API_KEY_FIELDS = graphql(`
  fragment ApiKeyFields on ApiKey {
    id
    name
    environment
    hint
    scopes
    ipAllowlist
    tier
    status
    expiresAt
    revokedAt
    revokeReason
    previousSecretExpiresAt
    lastUsedAt
    createdAt
  }
`);

const API_KEYS = graphql(`query ApiKeys { apiKeys { ...ApiKeyFields } }`, [API_KEY_FIELDS]);
const REFUSAL = graphql(`fragment ApiKeyRefusal on Error { message }`);
const CREATE = graphql(
  `mutation CreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ...ApiKeyRefusal ... on ApiKeyCreated { secret apiKey { ...ApiKeyFields } } } }`,
  [API_KEY_FIELDS, REFUSAL],
);
const ROTATE = graphql(
  `mutation RotateApiKey($input: RotateApiKeyInput!) { rotateApiKey(input: $input) { __typename ...ApiKeyRefusal ... on ApiKeyRotated { secret apiKey { ...ApiKeyFields } } } }`,
  [API_KEY_FIELDS, REFUSAL],
);
const UPDATE = graphql(
  `mutation UpdateApiKey($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { __typename ...ApiKeyRefusal ... on ApiKeyUpdated { apiKey { ...ApiKeyFields } } } }`,
  [API_KEY_FIELDS, REFUSAL],
);
const REVOKE = graphql(
  `mutation RevokeApiKey($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { __typename ...ApiKeyRefusal ... on ApiKeyUpdated { apiKey { ...ApiKeyFields } } } }`,
  [API_KEY_FIELDS, REFUSAL],
);

type ApiKey = ResultOf<typeof API_KEY_FIELDS>;

/** The secret a creation or rotation just returned, with the key it belongs to. */
type Revealed = { title: string; secret: string; keyName: string };

export function ApiKeys() {
  const [{ data, error }, refetch] = useQuery({ query: API_KEYS });
  const [creating, setCreating] = useState(false);
  const [revealed, setRevealed] = useState<Revealed | null>(null);
  // Rotation without preserving the id makes a key the cached list does not hold yet.
  const reveal = (shown: Revealed) => (setRevealed(shown), refetch({ requestPolicy: 'network-only' }));
  const keys = readFragment(API_KEY_FIELDS, data?.apiKeys ?? []);
  return (
    <section aria-labelledby="keys-title">
      <header className="page-header">
        <h1 id="keys-title">API keys</h1>
        <Can scope="apikeys:write">
          <button type="button" className="primary" onClick={() => (setCreating(true), setRevealed(null))} disabled={creating}>
            New API key
          </button>
        </Can>
      </header>
      {revealed && (
        <section className="panel" aria-labelledby="revealed-title">
          <h2 id="revealed-title">{revealed.title}</h2>
          <SecretOnce label={`Secret of ${revealed.keyName}`} value={revealed.secret} />
          <button type="button" onClick={() => setRevealed(null)}>
            Done
          </button>
        </section>
      )}
      {creating && <CreateApiKey onClose={() => setCreating(false)} onCreated={reveal} />}
      <ErrorMessage>{error && errorMessage(error)}</ErrorMessage>
      {data && keys.length === 0 ? (
        <EmptyState title="No API keys yet.">
          <p>An API key lets your own systems (billing, provisioning) call this server.</p>
        </EmptyState>
      ) : (
        <table aria-label="API keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Scopes</th>
              <th scope="col">Allowed from</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <KeyRow key={key.id} apiKey={key} onRotated={reveal} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function KeyRow({ apiKey, onRotated }: { apiKey: ApiKey; onRotated: (shown: Revealed) => void }) {
  const [, revoke] = useMutation(REVOKE);
  const [editing, setEditing] = useState(false);
  const live = apiKey.status === 'ACTIVE';
  return (
    <>
      <tr>
        <td>
          <strong>{apiKey.name}</strong>
          <div className="muted">
            <code>
              pk_{apiKey.environment.toLowerCase()}_…{apiKey.hint}
            </code>{' '}
            · {apiKey.tier}
          </div>
        </td>
        <td>
          <Badge status={apiKey.status} />
          {apiKey.previousSecretExpiresAt && (
            <div className="hint">
              Old secret works until <Time at={apiKey.previousSecretExpiresAt} />
            </div>
          )}
          {apiKey.revokeReason && <div className="hint">{apiKey.revokeReason}</div>}
        </td>
        <td>{apiKey.scopes.join(', ')}</td>
        <td>{apiKey.ipAllowlist.length ? apiKey.ipAllowlist.join(', ') : 'any address'}</td>
        <td>
          <Time at={apiKey.lastUsedAt} empty="Never" />
        </td>
        <td>
          <Time at={apiKey.expiresAt} empty="Never" />
        </td>
        <td>
          <Can scope="apikeys:write">
            {live && (
              <div className="actions">
                <RotateButton apiKey={apiKey} onRotated={onRotated} />
                <button type="button" onClick={() => setEditing(!editing)} aria-expanded={editing}>
                  Edit allowlist<Context>of {apiKey.name}</Context>
                </button>
                <ConfirmButton
                  label="Revoke"
                  context={apiKey.name}
                  title={`Revoke ${apiKey.name}?`}
                  description={<p>Every request with this key is refused from now on. This cannot be undone.</p>}
                  confirmLabel="Revoke key"
                  reasonLabel="Reason (recorded on the key and in the audit log)"
                  onConfirm={async (reason) =>
                    failureOf(
                      await revoke({ input: { id: apiKey.id, ...(reason.trim() ? { reason: reason.trim() } : {}) } }),
                      'ApiKeyUpdated',
                    )
                  }
                />
              </div>
            )}
          </Can>
        </td>
      </tr>
      {editing && (
        <tr>
          <td colSpan={7}>
            <EditAllowlist apiKey={apiKey} onDone={() => setEditing(false)} />
          </td>
        </tr>
      )}
    </>
  );
}

/** Rotation: a new secret (shown once); the old one keeps working for the grace period. */
function RotateButton({ apiKey, onRotated }: { apiKey: ApiKey; onRotated: (shown: Revealed) => void }) {
  const [, rotate] = useMutation(ROTATE);
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string | null>(null);
  const titleId = useId();
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const result = await rotate({
      input: { id: apiKey.id, preserveKeyId: form.get('preserveKeyId') === 'on', gracePeriodSeconds: Number(form.get('graceSeconds')) },
    });
    const failure = failureOf(result, 'ApiKeyRotated');
    setError(failure);
    if (failure || result.data?.rotateApiKey.__typename !== 'ApiKeyRotated') return;
    dialog.current?.close();
    onRotated({ title: `${apiKey.name} rotated`, secret: result.data.rotateApiKey.secret, keyName: apiKey.name });
  }
  return (
    <>
      <button type="button" onClick={() => dialog.current?.showModal()}>
        Rotate<Context>{apiKey.name}</Context>
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} onClose={() => setError(null)}>
        <form onSubmit={submit}>
          <h2 id={titleId}>Rotate {apiKey.name}</h2>
          <p>A new secret is issued. Give your systems the grace period to switch before the old secret stops working.</p>
          <p className="checkbox">
            <input id={`${titleId}-preserve`} name="preserveKeyId" type="checkbox" defaultChecked />
            <label htmlFor={`${titleId}-preserve`}>Keep the key's id (otherwise a new key replaces it)</label>
          </p>
          <p>
            <label htmlFor={`${titleId}-grace`}>Grace period (seconds, at most 7 days)</label>
            <input id={`${titleId}-grace`} name="graceSeconds" type="number" min={0} max={604800} defaultValue={3600} required />
          </p>
          <ErrorMessage>{error}</ErrorMessage>
          <div className="actions">
            <button type="button" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
            <button type="submit" className="primary">
              Rotate key
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

/** One allowlist entry per line; each is checked as it is typed, by the same rules the server applies. */
function AllowlistField({ id, defaultValue }: { id: string; defaultValue: string[] }) {
  const [text, setText] = useState(defaultValue.join('\n'));
  const problems = entries(text)
    .map((entry) => validateCidr(entry))
    .flatMap((checked) => (checked.ok ? [] : [checked.message]));
  const hintId = `${id}-hint`;
  return (
    <>
      <label htmlFor={id}>IP allowlist</label>
      <textarea
        id={id}
        name="ipAllowlist"
        rows={3}
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder="203.0.113.0/24"
        aria-describedby={hintId}
        aria-invalid={problems.length > 0}
      />
      <span id={hintId} className={problems.length ? 'error' : 'hint'} role={problems.length ? 'alert' : undefined}>
        {problems.length ? problems[0] : 'One IPv4 or IPv6 address or CIDR block per line; empty allows any address.'}
      </span>
    </>
  );
}

const entries = (text: string) =>
  text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter(Boolean);

const allowlistOf = (form: FormData) => entries(String(form.get('ipAllowlist') ?? ''));
const allowlistValid = (list: string[]) => list.every((entry) => validateCidr(entry).ok);

function EditAllowlist({ apiKey, onDone }: { apiKey: ApiKey; onDone: () => void }) {
  const [, update] = useMutation(UPDATE);
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="grid-form"
      aria-label={`Allowlist of ${apiKey.name}`}
      onSubmit={async (event) => {
        event.preventDefault();
        const ipAllowlist = allowlistOf(new FormData(event.currentTarget));
        if (!allowlistValid(ipAllowlist)) return;
        const failure = failureOf(await update({ input: { id: apiKey.id, ipAllowlist } }), 'ApiKeyUpdated');
        setError(failure);
        if (!failure) onDone();
      }}
    >
      <AllowlistField id={`allowlist-${apiKey.id}`} defaultValue={apiKey.ipAllowlist} />
      <ErrorMessage>{error}</ErrorMessage>
      <div className="actions">
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="primary">
          Save allowlist
        </button>
      </div>
    </form>
  );
}

function CreateApiKey({ onClose, onCreated }: { onClose: () => void; onCreated: (shown: Revealed) => void }) {
  const viewer = useViewer();
  const [, create] = useMutation(CREATE);
  const [error, setError] = useState<string | null>(null);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const ipAllowlist = allowlistOf(form);
    if (!allowlistValid(ipAllowlist)) return;
    const expires = String(form.get('expiresAt') ?? '');
    const tier = String(form.get('tier') ?? '').trim();
    const result = await create({
      input: {
        name: String(form.get('name')).trim(),
        environment: form.get('environment') === 'TEST' ? 'TEST' : 'LIVE',
        scopes: form.getAll('scopes').map(String),
        ipAllowlist,
        ...(tier ? { tier } : {}),
        ...(expires ? { expiresAt: new Date(expires).toISOString() } : {}),
      },
    });
    const failure = failureOf(result, 'ApiKeyCreated');
    setError(failure);
    if (failure || result.data?.createApiKey.__typename !== 'ApiKeyCreated') return;
    onClose();
    const name = String(form.get('name')).trim();
    onCreated({ title: `${name} created`, secret: result.data.createApiKey.secret, keyName: name });
  }
  return (
    <form className="panel grid-form" aria-labelledby="new-key-title" onSubmit={submit}>
      <h2 id="new-key-title">New API key</h2>
      <label htmlFor="key-name">Name</label>
      <input id="key-name" name="name" required maxLength={100} placeholder="billing system" />
      <label htmlFor="key-environment">Environment</label>
      <select id="key-environment" name="environment" defaultValue="LIVE">
        <option value="LIVE">Live (pk_live_…)</option>
        <option value="TEST">Test (pk_test_…)</option>
      </select>
      <fieldset className="scopes">
        <legend>Scopes (only those you hold)</legend>
        {viewer.scopes.map((scope) => (
          <label key={scope}>
            <input type="checkbox" name="scopes" value={scope} defaultChecked={scope.endsWith(':read')} /> {scope}
          </label>
        ))}
      </fieldset>
      <AllowlistField id="key-allowlist" defaultValue={[]} />
      <label htmlFor="key-tier">Rate-limit tier</label>
      <input id="key-tier" name="tier" placeholder="standard" />
      <label htmlFor="key-expires">Expires</label>
      <input id="key-expires" name="expiresAt" type="datetime-local" />
      <ErrorMessage>{error}</ErrorMessage>
      <div className="actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="submit" className="primary">
          Create key
        </button>
      </div>
    </form>
  );
}
