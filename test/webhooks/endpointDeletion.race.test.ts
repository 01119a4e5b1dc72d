/**
 * Deleting an endpoint while an attempt of its fails: the outcome writes the delivery and the
 * endpoint (its failingSince), the delete takes the endpoint and then its deliveries. Both must
 * finish, whichever order they reach the rows in, instead of one of them dying in a deadlock.
 * The interleaving that deadlocked is forced: the test holds the delivery's row until the
 * outcome and the delete both wait.
 */
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { webhookDeliveries, webhookEndpoints } from '../../src/db/schema.ts';
import { claimDueDeliveries, recordOutcome } from '../../src/services/webhooks/worker.ts';
import { DATABASE_URL, gql, startApp } from '../support/harness.ts';
import { untilQueued } from '../support/locks.ts';
import { createEndpoint, createLicenseAs } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

const DELETE = `mutation($id: ID!) { deleteWebhookEndpoint(input: { id: $id }) { __typename } }`;

let app: App;
let org: Awaited<ReturnType<typeof seedOrganization>>;
let locker: postgres.Sql;
beforeAll(async () => {
  app = await startApp();
  org = await seedOrganization(app);
  locker = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  // Two connections of the app's pool open and idle: postgres.js hands a query to an open
  // connection before it opens another, so with one the delete would queue behind the recording
  // on its connection instead of reaching the locked row beside it.
  await Promise.all([app.services.db.execute(sql`select pg_sleep(0.1)`), app.services.db.execute(sql`select pg_sleep(0.1)`)]);
});
afterAll(async () => {
  await locker.end();
  await app.close();
});

describe('deleting an endpoint during a failed attempt', () => {
  it('records the attempt and deletes the endpoint with its deliveries, neither refused as a deadlock', async () => {
    // Nobody listens on port 9: only the recorded outcome matters here, no attempt is sent.
    const endpoint = await createEndpoint(app, org.token, { url: 'http://127.0.0.1:9/hooks', eventTypes: ['license.created'] });
    await createLicenseAs(app, org.token);
    const [claim, ...others] = await claimDueDeliveries(app.services, 10, { organizationId: org.orgId });
    expect(others).toEqual([]);

    let recording: Promise<unknown> | undefined;
    let deleting: Promise<unknown> | undefined;
    await locker.begin(async (tx) => {
      await tx`select id from webhook_deliveries where id = ${claim!.delivery.id} for update`;
      recording = recordOutcome(app.services, claim!, {
        status: 'FAILED',
        retryInSeconds: 60,
        attempt: { statusCode: 500, durationMs: 3, responseBody: 'down', error: null },
      });
      await untilQueued(tx, 1);
      deleting = gql(app, DELETE, { id: endpoint.id }, org.token);
      await untilQueued(tx, 2);
    });

    const [recorded, deleted] = await Promise.allSettled([recording, deleting]);
    expect(recorded).toMatchObject({ status: 'fulfilled', value: { id: claim!.delivery.id, status: 'FAILED', attempts: 1 } });
    expect(deleted).toMatchObject({ status: 'fulfilled', value: { data: { deleteWebhookEndpoint: { __typename: 'WebhookEndpointDeleted' } } } });
    const db = app.services.db;
    expect(await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id))).toEqual([]);
    expect(await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpoint.id))).toEqual([]);
  });
});
