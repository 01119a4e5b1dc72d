/** GraphQL over WebSocket runs every kind of operation, with the same rules as over HTTP. */
import { describe, expect, it } from 'vitest';
import { ACQUIRE, createLicense } from '../support/harness.ts';
import { servedApp, wsClient } from '../support/server.ts';

const served = servedApp();

describe('GraphQL over WebSocket', () => {
  it('runs a mutation, as a client keeping one socket for everything would', async () => {
    const license = await createLicense(served.app, { maxSeats: 1 });
    const client = wsClient(served.wsUrl, null);
    try {
      const result = await new Promise<Record<string, any>>((resolve, reject) => {
        let value: Record<string, any> | undefined;
        client.subscribe(
          { query: ACQUIRE, variables: { input: { licenseKey: license.key, fingerprint: 'ws-machine' } } },
          { next: (v) => (value = v as Record<string, any>), error: reject, complete: () => resolve(value!) },
        );
      });
      expect(result.errors).toBeUndefined();
      expect(result.data?.acquireSeat).toMatchObject({ __typename: 'SeatGranted', seats: { used: 1, max: 1 } });
    } finally {
      await client.dispose();
    }
  });
});
