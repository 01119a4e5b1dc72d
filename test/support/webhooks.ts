/**
 * A webhook receiver on 127.0.0.1 (node:http, as a vendor's would be) that records every
 * request and answers as the test scripts it, the two ways a receiver verifies a signature,
 * and helpers to make endpoints and wait for deliveries.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { and, eq } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import type { App } from '../../src/app.ts';
import { webhookAttempts, webhookDeliveries } from '../../src/db/schema.ts';
import { gql } from './harness.ts';

export interface ReceivedRequest {
  /** Arrival, ms since the epoch. */
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

/** Answers the n-th request (0-based) of all it received. */
export type Responder = (request: ReceivedRequest, n: number) => Answer;

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  respondWith(responder: Responder): void;
  /** Resolves once `count` requests have arrived. */
  until(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startReceiver(responder: Responder = () => ({ status: 200, body: 'ok' })): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let respond = responder;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const answer = respond(request, requests.length);
      requests.push(request);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body ?? '');
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    requests,
    respondWith(next) {
      respond = next;
    },
    async until(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        if (Date.now() > deadline) throw new Error(`timed out with ${requests.length}/${count} webhook requests`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return requests;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const header = (headers: IncomingHttpHeaders, name: string) => String(headers[name] ?? '');

/** The receiver's own check of X-Webhook-Signature: hex HMAC-SHA256 keyed with the decoded secret, any one signature matching. */
export function verifiesXWebhookSignature(secret: string, request: Pick<ReceivedRequest, 'headers' | 'body'>): boolean {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const signed = `${header(request.headers, 'x-webhook-timestamp')}.${header(request.headers, 'x-webhook-event-id')}.${request.body}`;
  const expected = Buffer.from(createHmac('sha256', key).update(signed).digest('hex'));
  return header(request.headers, 'x-webhook-signature')
    .split(' ')
    .some((signature) => signature.length === expected.length && timingSafeEqual(Buffer.from(signature), expected));
}

/** The Standard Webhooks check, by the `standardwebhooks` package (which also refuses a timestamp 5 minutes away). */
export function verifiesStandardWebhook(secret: string, request: Pick<ReceivedRequest, 'headers' | 'body'>): boolean {
  try {
    new Webhook(secret).verify(request.body, {
      'webhook-id': header(request.headers, 'webhook-id'),
      'webhook-timestamp': header(request.headers, 'webhook-timestamp'),
      'webhook-signature': header(request.headers, 'webhook-signature'),
    });
    return true;
  } catch {
    return false;
  }
}

export const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
  __typename
  ... on WebhookEndpointCreated { secret endpoint { id url eventTypes enabled } }
  ... on InvalidInput { code message field } } }`;

/** Makes an endpoint through the API and answers its id and secret. */
export async function createEndpoint(app: App, token: string, input: { url: string; eventTypes?: string[]; enabled?: boolean }) {
  const r = await gql(app, CREATE_ENDPOINT, { input: { eventTypes: ['*'], ...input } }, token);
  const created = r.data?.createWebhookEndpoint;
  if (created?.__typename !== 'WebhookEndpointCreated') throw new Error(`createWebhookEndpoint failed: ${JSON.stringify(r)}`);
  return { id: created.endpoint.id as string, secret: created.secret as string };
}

export async function attemptsOf(app: App, deliveryId: string) {
  return app.services.db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, deliveryId)).orderBy(webhookAttempts.attempt);
}

/** Waits until the endpoint's delivery of this event type reaches one of the statuses. */
export async function waitForStatus(
  app: App,
  endpointId: string,
  statuses: string[],
  options: { eventType?: string; timeoutMs?: number } = {},
) {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    const conditions = [eq(webhookDeliveries.endpointId, endpointId)];
    if (options.eventType) conditions.push(eq(webhookDeliveries.eventType, options.eventType));
    const rows = await app.services.db
      .select()
      .from(webhookDeliveries)
      .where(and(...conditions));
    const done = rows.find((r) => statuses.includes(r.status));
    if (done) return done;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${statuses.join('/')}: ${JSON.stringify(rows.map((r) => r.status))}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export const CREATE_LICENSE = `mutation($input: CreateLicenseInput!) { createLicense(input: $input) {
  __typename ... on LicenseCreated { key license { id } } } }`;

/** Makes a license in the token's organization (a license.created event) and answers its id and key. */
export async function createLicenseAs(app: App, token: string, input: Record<string, unknown> = {}) {
  const r = await gql(app, CREATE_LICENSE, { input: { tier: 'pro', features: [], maxSeats: 2, ...input } }, token);
  const created = r.data?.createLicense;
  if (created?.__typename !== 'LicenseCreated') throw new Error(`createLicense failed: ${JSON.stringify(r)}`);
  return { id: created.license.id as string, key: created.key as string };
}
