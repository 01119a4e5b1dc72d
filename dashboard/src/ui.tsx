/** Small pieces every page uses: errors where they happened, confirmation before destructive actions, secrets shown once, times, the seat gauge. */
import { useId, useRef, useState, type ReactNode } from 'react';
import { errorMessage, type RequestFailure } from './session.ts';

/** A mutation's answer: its one root field is a union member, with a message when it is an error. */
type Outcome = { __typename: string; message?: string };

/** The message of a mutation that did not succeed: the request's error, or the domain error the API returned. */
export function failureOf(
  result: { error?: RequestFailure | undefined; data?: object | null | undefined },
  success: string,
): string | null {
  if (result.error) return errorMessage(result.error);
  const outcome = result.data && (Object.values(result.data)[0] as Outcome | undefined);
  if (outcome && outcome.__typename !== success) return outcome.message ?? `Refused (${outcome.__typename}).`;
  return null;
}

export function ErrorMessage({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <p className="error" role="alert">
      {children}
    </p>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children}
    </div>
  );
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function Time({ at, empty = '—' }: { at: string | null | undefined; empty?: string }) {
  if (!at) return <>{empty}</>;
  return <time dateTime={at}>{dateTime.format(new Date(at))}</time>;
}

/**
 * A button that asks before it acts: a modal dialog (focus moves into it, Escape cancels)
 * naming what will happen, with an optional reason field.
 */
/** Words for assistive technology only: what a short visible button label acts on ("Revoke" → "Revoke billing"). */
export function Context({ children }: { children: ReactNode }) {
  return <span className="visually-hidden"> {children}</span>;
}

export interface ConfirmProps {
  label: string;
  /** What the button acts on, read out after the label. */
  context?: string;
  title: string;
  description: ReactNode;
  confirmLabel: string;
  reasonLabel?: string;
  danger?: boolean;
  /** Acts; answers the error to show in the dialog, or null to close it. */
  onConfirm: (reason: string) => Promise<string | null>;
}

export function ConfirmButton({ label, context, title, description, confirmLabel, reasonLabel, danger = true, onConfirm }: ConfirmProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const reasonId = useId();
  const titleId = useId();
  return (
    <>
      <button type="button" className={danger ? 'danger' : ''} onClick={() => dialog.current?.showModal()}>
        {label}
        {context && <Context>{context}</Context>}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} onClose={() => (setError(null), setReason(''))}>
        <form
          method="dialog"
          onSubmit={async (event) => {
            event.preventDefault();
            setBusy(true);
            const failure = await onConfirm(reason);
            setBusy(false);
            if (failure) setError(failure);
            else dialog.current?.close();
          }}
        >
          <h2 id={titleId}>{title}</h2>
          <div>{description}</div>
          {reasonLabel && (
            <p>
              <label htmlFor={reasonId}>{reasonLabel}</label>
              <input id={reasonId} value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
            </p>
          )}
          <ErrorMessage>{error}</ErrorMessage>
          <div className="actions">
            <button type="button" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
            <button type="submit" className={danger ? 'danger' : 'primary'} disabled={busy}>
              {confirmLabel}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

/** A secret the server shows exactly once: the value, a copy button, and a warning that it will not be shown again. */
export function SecretOnce({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  const id = useId();
  return (
    <div className="secret" role="region" aria-labelledby={id}>
      <p id={id} className="secret-label">
        {label}
      </p>
      <p className="warning">Copy it now: it is shown only this once and cannot be recovered.</p>
      <div className="secret-row">
        <output aria-label={label}>{value}</output>
        <button
          type="button"
          onClick={async () => {
            await navigator.clipboard.writeText(value);
            setCopied(true);
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </div>
  );
}

/** Used seats against capacity as a bar, with the numbers in words for assistive technology. */
export function SeatGauge({ used, max, size = 'small' }: { used: number; max: number; size?: 'small' | 'large' }) {
  const share = max > 0 ? Math.min(used / max, 1) : 0;
  const level = share >= 1 ? 'full' : share >= 0.8 ? 'near' : 'ok';
  const width = size === 'large' ? 320 : 120;
  const height = size === 'large' ? 18 : 10;
  return (
    <span className={`gauge gauge-${size}`}>
      <svg
        width={width}
        height={height}
        role="meter"
        aria-valuenow={used}
        aria-valuemin={0}
        aria-valuemax={max}
        aria-label={`Seats in use: ${used} of ${max}`}
      >
        <rect className="gauge-track" width={width} height={height} rx={height / 2} />
        <rect
          className={`gauge-fill gauge-${level}`}
          width={Math.max(share * width, used > 0 ? height : 0)}
          height={height}
          rx={height / 2}
        />
      </svg>
      <span className="gauge-text">
        {used} / {max}
      </span>
    </span>
  );
}

const RANGES = {
  day: { label: 'Last 24 hours', days: 1 },
  week: { label: 'Last 7 days', days: 7 },
  month: { label: 'Last 30 days', days: 30 },
};
export type RangeKey = keyof typeof RANGES;

/** [from, to) ending at the next whole minute: fixed once chosen, so a query's variables do not change on every render. */
export function rangeOf(key: RangeKey, now = Date.now()): { from: string; to: string } {
  const to = Math.ceil((now + 1) / 60_000) * 60_000;
  return { from: new Date(to - RANGES[key].days * 86_400_000).toISOString(), to: new Date(to).toISOString() };
}

export function RangeSelect({ id, value, onChange }: { id: string; value: RangeKey; onChange: (key: RangeKey) => void }) {
  return (
    <span className="range">
      <label htmlFor={id}>Range</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value as RangeKey)}>
        {Object.entries(RANGES).map(([key, range]) => (
          <option key={key} value={key}>
            {range.label}
          </option>
        ))}
      </select>
    </span>
  );
}

/** A status as a coloured, worded badge (never colour alone). */
export function Badge({ status }: { status: string }) {
  const words = status.replace(/_/g, ' ').toLowerCase();
  return <span className={`badge badge-${status.toLowerCase().replace(/_/g, '-')}`}>{words.charAt(0).toUpperCase() + words.slice(1)}</span>;
}

export function Stat({ label, value }: { label: string; value: ReactNode }) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

/** Cursor paging: the cursors of the pages before this one, so Previous pops and Next pushes. */
export function usePages() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return {
    after: cursors[cursors.length - 1] ?? null,
    page: cursors.length,
    first: cursors.length === 1,
    previous: () => setCursors(cursors.slice(0, -1)),
    next: (endCursor: string | null) => setCursors([...cursors, endCursor]),
    reset: () => setCursors([null]),
  };
}

export type Pages = ReturnType<typeof usePages>;

/** Previous and next page of a cursor-paged list; nothing while everything fits on the first page. */
export function Pager({ label, pages, pageInfo }: { label: string; pages: Pages; pageInfo: { hasNextPage: boolean; endCursor: string | null } | undefined }) {
  if (pages.first && !pageInfo?.hasNextPage) return null;
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" disabled={pages.first} onClick={pages.previous}>
        Previous page
      </button>
      <span>Page {pages.page}</span>
      <button type="button" disabled={!pageInfo?.hasNextPage} onClick={() => pages.next(pageInfo!.endCursor)}>
        Next page
      </button>
    </nav>
  );
}
