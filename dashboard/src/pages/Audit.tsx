/**
 * The audit log: filter by action, actor and resource, page through it, and see whether its hash
 * chain verifies, up to which entry it is signed, and sign its head now.
 */
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../graphql.ts';
import { errorMessage } from '../session.ts';
import { EmptyState, ErrorMessage, Pager, Time, usePages } from '../ui.tsx';

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
        seq
        reason
      }
      anchor {
        seq
        signedAt
      }
      unanchoredRows
    }
  }
`);

const ANCHOR = graphql(`
  mutation AnchorAuditChain {
    anchorAuditChain {
      seq
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
  const pages = usePages();
  const [{ data, error }] = useQuery({ query: AUDIT, variables: { filter, after: pages.after } });
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
          pages.reset();
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
      <Pager label="Pages of the audit log" pages={pages} pageInfo={data?.auditLogs.pageInfo} />
    </section>
  );
}

/** Recomputes the chain on demand (it reads every row of the organization), and signs its head. */
function ChainVerdict() {
  const [asked, setAsked] = useState(false);
  const [{ data, error, fetching }, verify] = useQuery({ query: VERIFY, pause: !asked, requestPolicy: 'network-only' });
  const [anchoring, anchor] = useMutation(ANCHOR);
  const verdict = data?.verifyAuditChain;
  const signed = verdict?.anchor;
  return (
    <div className="actions" aria-live="polite">
      {fetching && <span>Verifying…</span>}
      {!fetching && verdict?.valid && <span className="badge badge-active">Chain verified: {verdict.checkedRows} entries</span>}
      {!fetching && verdict && !verdict.valid && (
        <span className="badge badge-revoked">
          Chain broken at entry {verdict.brokenAt?.seq} ({verdict.brokenAt?.reason}){verdict.brokenAt?.id && `: ${verdict.brokenAt.id}`}
        </span>
      )}
      {!fetching && verdict && (
        <span className="hint">
          {signed ? (
            <>
              Signed through entry {signed.seq} at <Time at={signed.signedAt} />
              {verdict.unanchoredRows > 0 && `; ${verdict.unanchoredRows} entries since, not signed yet`}
            </>
          ) : (
            'Not signed yet'
          )}
        </span>
      )}
      <ErrorMessage>{(error && errorMessage(error)) || (anchoring.error && errorMessage(anchoring.error))}</ErrorMessage>
      <button type="button" onClick={() => (asked ? verify() : setAsked(true))}>
        Verify the hash chain
      </button>
      <button
        type="button"
        disabled={anchoring.fetching}
        onClick={async () => {
          const result = await anchor({});
          if (!result.error) asked ? verify() : setAsked(true);
        }}
      >
        Sign the chain's head now
      </button>
    </div>
  );
}
