/**
 * A license's machines: the fingerprints that count against maxMachines, when each was first and
 * last seen, its live sessions, its offline certificate to download, and deactivating it so
 * another machine can take the place.
 */
import { useEffect, useState } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { errorMessage } from '../session.ts';
import { graphql } from '../graphql.ts';
import { ConfirmButton, EmptyState, ErrorMessage, failureOf, Pager, Time, usePages } from '../ui.tsx';
import { Can } from '../viewer.tsx';

const PAGE_SIZE = 20;

const MACHINES = graphql(`
  query LicenseMachines($id: ID!, $first: Int!, $after: String) {
    license(id: $id) {
      id
      machines(first: $first, after: $after) {
        edges {
          node {
            fingerprint
            firstSeenAt
            lastSeenAt
            activeSessions
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

const CERTIFICATE = graphql(`
  query MachineCertificate($id: ID!, $fingerprint: String!) {
    license(id: $id) {
      id
      certificate(fingerprint: $fingerprint) {
        token
      }
    }
  }
`);

const DEACTIVATE = graphql(`
  mutation DeactivateMachine($input: DeactivateMachineInput!) {
    deactivateMachine(input: $input) {
      __typename
      ... on Error {
        message
      }
    }
  }
`);

/** Saves a text as a file the browser downloads, without the text ever being part of a URL. */
function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/jwt' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  URL.revokeObjectURL(url);
}

/**
 * Asked again whenever the license's sessions shown change (`sessions`, their ids): a machine's
 * row is written in the same statement as its first session's, and a machine's live sessions
 * change with them.
 */
export function LicenseMachines({ licenseId, sessions }: { licenseId: string; sessions: string }) {
  const pages = usePages();
  const [{ data, error }, refetch] = useQuery({ query: MACHINES, variables: { id: licenseId, first: PAGE_SIZE, after: pages.after } });
  const [, deactivate] = useMutation(DEACTIVATE);
  const client = useClient();
  const [downloadError, setDownloadError] = useState<string | null>(null);
  useEffect(() => refetch({ requestPolicy: 'network-only' }), [sessions, refetch]);

  async function saveCertificate(fingerprint: string) {
    const result = await client.query(CERTIFICATE, { id: licenseId, fingerprint }, { requestPolicy: 'network-only' }).toPromise();
    const token = result.data?.license?.certificate?.token;
    setDownloadError(result.error ? errorMessage(result.error) : token ? null : 'This machine has no certificate to download.');
    if (token) download(`${licenseId}-${fingerprint}.jwt`, token);
  }

  const machines = data?.license?.machines;
  return (
    <section aria-labelledby="machines-title">
      <h2 id="machines-title">Machines</h2>
      <ErrorMessage>{(error && errorMessage(error)) || downloadError}</ErrorMessage>
      {machines && machines.edges.length === 0 ? (
        <EmptyState title="No machine has activated this license yet." />
      ) : (
        <table aria-label="Machines">
          <thead>
            <tr>
              <th scope="col">Fingerprint</th>
              <th scope="col">First seen</th>
              <th scope="col">Last seen</th>
              <th scope="col">Live sessions</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {machines?.edges.map(({ node }) => (
              <tr key={node.fingerprint}>
                <td>
                  <code>{node.fingerprint}</code>
                </td>
                <td>
                  <Time at={node.firstSeenAt} />
                </td>
                <td>
                  <Time at={node.lastSeenAt} />
                </td>
                <td>{node.activeSessions}</td>
                <td className="actions">
                  <button type="button" onClick={() => void saveCertificate(node.fingerprint)} aria-label={`Download certificate for ${node.fingerprint}`}>
                    Certificate
                  </button>
                  <Can scope="seats:admin">
                    <ConfirmButton
                      label="Deactivate"
                      context={node.fingerprint}
                      title="Deactivate this machine?"
                      description={
                        <p>
                          <code>{node.fingerprint}</code> stops counting against the license's machine limit, so another machine can take
                          its place.
                          {node.activeSessions > 0 &&
                            ` Its ${node.activeSessions} live session${node.activeSessions === 1 ? '' : 's'} end${node.activeSessions === 1 ? 's' : ''} now.`}{' '}
                          The license may limit how many machines are deactivated per month.
                        </p>
                      }
                      confirmLabel="Deactivate machine"
                      onConfirm={async () => {
                        const result = await deactivate({ input: { licenseId, fingerprint: node.fingerprint, force: node.activeSessions > 0 } });
                        const failure = failureOf(result, 'MachineDeactivated');
                        if (!failure) refetch({ requestPolicy: 'network-only' });
                        return failure;
                      }}
                    />
                  </Can>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager label="Pages of machines" pages={pages} pageInfo={machines?.pageInfo} />
    </section>
  );
}
