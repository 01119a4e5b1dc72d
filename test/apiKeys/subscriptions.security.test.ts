/**
 * A subscription opened with an API key ends with the key: once it is revoked, or once a rotation
 * has replaced its secret (and any grace period is over), the stream's next message is the refusal
 * (UNAUTHENTICATED with the key's reason), not the data.
 */
import { expect, it } from 'vitest';
import { acquire, admin, createLicense } from '../support/harness.ts';
import { collect, servedApp, wsClient } from '../support/server.ts';

const served = servedApp();

const COUNT = `subscription($id: ID!) { seatCountChanged(licenseId: $id) { used } }`;

async function readKey() {
  const created = await admin(
    served.app,
    `mutation { createApiKey(input: { name: "dashboard feed", environment: LIVE, scopes: ["licenses:read"] }) {
      ... on ApiKeyCreated { secret apiKey { id } } } }`,
  );
  return { id: created.data!.createApiKey.apiKey.id as string, secret: created.data!.createApiKey.secret as string };
}

async function follow(secret: string, licenseId: string) {
  const client = wsClient(served.wsUrl, secret);
  const feed = collect<{ seatCountChanged: { used: number } }>(client, COUNT, { id: licenseId });
  expect(await feed.until(1)).toEqual([{ seatCountChanged: { used: 0 } }]);
  return { client, feed };
}

it('ends the stream of a revoked key with API_KEY_REVOKED instead of the next count', async () => {
  const license = await createLicense(served.app, { maxSeats: 3 });
  const key = await readKey();
  const { client, feed } = await follow(key.secret, license.id);
  try {
    await admin(served.app, `mutation($id: ID!) { revokeApiKey(input: { id: $id, reason: "leaked" }) { __typename } }`, { id: key.id });
    await acquire(served.app, license.key, 'after-revoke');
    await expect(feed.until(2)).rejects.toThrow(/API_KEY_REVOKED/);
    expect(feed.events).toHaveLength(1);
  } finally {
    await client.dispose();
  }
});

it('ends the stream of a secret replaced by a rotation without grace, and keeps the new secret streaming', async () => {
  const license = await createLicense(served.app, { maxSeats: 3 });
  const key = await readKey();
  const before = await follow(key.secret, license.id);
  const rotated = await admin(
    served.app,
    `mutation($id: ID!) { rotateApiKey(input: { id: $id, gracePeriodSeconds: 0, preserveKeyId: true }) { ... on ApiKeyRotated { secret } } }`,
    { id: key.id },
  );
  const after = await follow(rotated.data!.rotateApiKey.secret as string, license.id);
  try {
    await acquire(served.app, license.key, 'after-rotation');
    // With no grace the replaced secret is forgotten at once: it is no longer a key at all.
    await expect(before.feed.until(2)).rejects.toThrow(/UNAUTHENTICATED.*API_KEY_INVALID/);
    expect(before.feed.events).toHaveLength(1);
    expect(await after.feed.until(2)).toEqual([{ seatCountChanged: { used: 0 } }, { seatCountChanged: { used: 1 } }]);
  } finally {
    await Promise.all([before.client.dispose(), after.client.dispose()]);
  }
});
