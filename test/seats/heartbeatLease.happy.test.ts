/**
 * A heartbeat signs a lease only when its operation selects `lease`: the SDK's plain heartbeat
 * costs no signature, the one that asks for the lease gets a signed one, and a document that
 * selects it twice (aliases) still costs one signature.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import type { Signer } from '../../src/lib/jws.ts';
import { createFileStore } from '../../src/runtime/files.ts';
import { createLocalSigner } from '../../src/services/signing/local.ts';
import { acquire, createLicense, gql, startApp } from '../support/harness.ts';

let app: App;
let signatures = 0;
beforeAll(async () => {
  const local = await createLocalSigner({ files: createFileStore(await mkdtemp(join(tmpdir(), 'leasehold-lease-'))) });
  const counting: Signer = {
    algorithm: local.algorithm,
    keyId: local.keyId,
    sign: (input) => {
      signatures++;
      return local.sign(input);
    },
    publicJwks: () => local.publicJwks(),
    close: () => local.close(),
  };
  app = await startApp({}, { signer: counting });
});
afterAll(() => app.close());

const heartbeatWith = (selection: string) =>
  `mutation($input: HeartbeatSeatInput!) { heartbeatSeat(input: $input) { __typename ... on SeatRenewed { ${selection} } } }`;

describe('heartbeatSeat', () => {
  it('signs nothing when the operation leaves lease out, and one lease when it selects it', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const granted = await acquire(app, license.key, 'machine-1');
    const input = { licenseKey: license.key, sessionId: granted.session.id };

    signatures = 0;
    const plain = await gql(app, heartbeatWith('session { expiresAt }'), { input });
    expect(plain.data?.heartbeatSeat).toMatchObject({ __typename: 'SeatRenewed', session: { expiresAt: expect.any(String) } });
    expect(signatures).toBe(0);

    const withLease = await gql(app, heartbeatWith('session { expiresAt } lease { token expiresAt }'), { input });
    expect(withLease.data?.heartbeatSeat.lease.token.split('.')).toHaveLength(3);
    // The lease ends with the renewed session (JWT times are whole seconds).
    const { lease, session } = withLease.data!.heartbeatSeat;
    expect(Math.abs(Date.parse(lease.expiresAt) - Date.parse(session.expiresAt))).toBeLessThan(1000);
    expect(signatures).toBe(1);

    const twice = await gql(app, heartbeatWith('a: lease { token } b: lease { token }'), { input });
    expect(twice.data?.heartbeatSeat.a.token).toBe(twice.data?.heartbeatSeat.b.token);
    expect(signatures).toBe(2);
  });
});
