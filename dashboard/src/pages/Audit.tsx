/** The audit log: filter by action, actor and resource, page through it, and see whether its hash chain verifies. */
import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../graphql.ts';
import { errorMessage } from '../session.ts';
import { EmptyState, ErrorMessage, Time } from '../ui.tsx';

const AUDIT = graphql(`
  query AuditLog($filter: AuditLogFilter, $after: String) {
    auditLogs(first: 50, filter: $filter, after: $after) {
      edges {
        node {
          id
          action
          actorType
          actorId
          resourceType
          resourceId
          requestId
          createdAt
          data
        }
      }
      pageInfo {
        endCursor
        hasNextPage
      }
    }
  }
`);

const VERIFY = graphql(`
  query VerifyAuditChain {
    verifyAuditChain {
      valid
      checkedRows
      brokenAt {
        id
        reason
      }
    }
  }
`);

const FIELDS = [
  { name: 'action', label: 'Action', placeholder: 'license.revoked' },
  { name: 'actorId', label: 'Actor id', placeholder: 'usr_… or key_…' },
  { name: 'resourceType', label: 'Resource type', placeholder: 'license' },
  { name: 'resourceId', label: 'Resource id', placeholder: 'lic_…' },
] as const;
type FilterName = (typeof FIELDS)[number]['name'];

export function Audit() {
  const [filter, setFilter] = useState<Partial<Record<FilterName, string>>>({});
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [{ data, error }] = useQuery({ query: AUDIT, variables: { filter, after: cursors[cursors.length - 1] ?? null } });
  const rows = data?.auditLogs.edges ?? [];
  return (
    <section aria-labelledby="audit-title">
      <header className="page-header">
        <h1 id="audit-title">Audit log</h1>
        <ChainVerdict />
      </header>
      <form
        className="filters"
        aria-label="Filter the audit log"
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          const next: Partial<Record<FilterName, string>> = {};
          for (const { name } of FIELDS) {
            const value = String(form.get(name) ?? '').trim();
            if (value) next[name] = value;
          }
          setFilter(next);
          setCursors([null]);
        }}
      >
        {FIELDS.map((field) => (
          <label key={field.name}>
            {field.label}
            <input name={field.name} placeholder={field.placeholder} />
          </label>
        ))}
        <button type="submit">Filter</button>
      </form>
      <ErrorMessage>{error && errorMessage(error)}</ErrorMessage>
      {data && rows.length === 0 ? (
        <EmptyState title="No entry matches." />
      ) : (
        <table aria-label="Audit log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Actor</th>
              <th scope="col">Resource</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ node }) => (
              <tr key={node.id}>
                <td>
                  <Time at={node.createdAt} />
                </td>
                <td>
                  <code>{node.action}</code>
                </td>
                <td>
                  {node.actorType}
                  {node.actorId && <div className="hint">{node.actorId}</div>}
                </td>
                <td>
                  {node.resourceType}
                  <div className="hint">{node.resourceId}</div>
                </td>
                <td>
                  <code className="excerpt">{JSON.stringify(node.data)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Pages of the audit log">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!data?.auditLogs.pageInfo.hasNextPage}
          onClick={() => setCursors([...cursors, data!.auditLogs.pageInfo.endCursor])}
        >
          Next page
        </button>
      </nav>
    </section>
  );
}

/** Recomputes the chain on demand: it reads every row of the organization. */
function ChainVerdict() {
  const [asked, setAsked] = useState(false);
  const [{ data, error, fetching }, verify] = useQuery({ query: VERIFY, pause: !asked, requestPolicy: 'network-only' });
  const verdict = data?.verifyAuditChain;
  return (
    <div className="actions" aria-live="polite">
      {fetching && <span>Verifying…</span>}
      {!fetching && verdict?.valid && <span className="badge badge-active">Chain verified: {verdict.checkedRows} entries</span>}
      {!fetching && verdict && !verdict.valid && (
        <span className="badge badge-revoked">
          Chain broken at {verdict.brokenAt?.id} ({verdict.brokenAt?.reason})
        </span>
      )}
      <ErrorMessage>{error && errorMessage(error)}</ErrorMessage>
      <button type="button" onClick={() => (asked ? verify() : setAsked(true))}>
        Verify the hash chain
      </button>
    </div>
  );
}
