/** The organization-wide seat feed needs a credential that may read licenses. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { admin, startApp } from '../support/harness.ts';
import { collect, serve, wsClient } from '../support/server.ts';

let app: App;
let server: Awaited<ReturnType<typeof serve>>;
beforeAll(async () => {
  app = await startApp();
  server = await serve(app);
});
afterAll(async () => {
  await server.close();
  await app.close();
});

const SUBSCRIBE_ALL = `subscription { seatCountsChanged { licenseId used } }`;

it('refuses a subscriber without a credential, with a bad one, and an API key without licenses:read', async () => {
  const anonymous = wsClient(server.wsUrl, null);
  await expect(collect(anonymous, SUBSCRIBE_ALL, {}).until(1)).rejects.toThrow(/UNAUTHENTICATED/);
  await anonymous.dispose();
  // A credential that is not one closes the socket, with the reason.
  const forged = wsClient(server.wsUrl, 'not-a-token');
  const refused = collect(forged, SUBSCRIBE_ALL, {});
  await expect(refused.until(1)).rejects.toThrow();
  expect((refused.errors[0] as { reason?: string }).reason).toMatch(/credential is not valid/);
  await forged.dispose();
  const created = await admin(
    app,
    `mutation { createApiKey(input: { name: "hooks only", environment: LIVE, scopes: ["webhooks:read"] }) { ... on ApiKeyCreated { secret } } }`,
  );
  const key = created.data!.createApiKey.secret as string;
  const client = wsClient(server.wsUrl, key);
  await expect(collect(client, SUBSCRIBE_ALL, {}).until(1)).rejects.toThrow(/FORBIDDEN|scope/i);
  await client.dispose();
});
