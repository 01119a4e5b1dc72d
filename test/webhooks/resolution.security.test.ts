/**
 * Webhook SSRF by name: a receiver's host is resolved at delivery, every address it resolves to
 * must be public on a live server, and the request connects to the address that was checked.
 * The resolver is the test's own (AppOptions.resolveHost), so names answer what the test says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { deliverDueWebhooks } from '../../src/services/webhooks/worker.ts';
import { gql, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { attemptsOf, CREATE_ENDPOINT, createEndpoint, createLicenseAs, startReceiver, waitForStatus, type Receiver } from '../support/webhooks.ts';

const answers = new Map<string, string[]>();
const asked: string[] = [];
const resolveHost = async (hostname: string) => {
  asked.push(hostname);
  const addresses = answers.get(hostname);
  if (!addresses) throw Object.assign(new Error(`no such name ${hostname}`), { code: 'ENOTFOUND' });
  return addresses;
};

let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());

describe('on a live server that refuses private targets', () => {
  let app: App;
  let org: Awaited<ReturnType<typeof seedOrganization>>;
  beforeAll(async () => {
    app = await startApp({ WEBHOOK_ALLOW_PRIVATE: '0', WEBHOOK_BACKOFF_SECONDS: '600' }, { resolveHost });
    org = await seedOrganization(app);
  });
  afterAll(() => app.close());

  it.each([
    ['loopback', ['127.0.0.1']],
    ['the cloud metadata address', ['169.254.169.254']],
    ['a private address beside a public one', ['93.184.215.14', '10.0.0.7']],
    ['IPv6 loopback', ['::1']],
    ['a NAT64 form of loopback', ['64:ff9b::7f00:1']],
  ])('does not send to a public name that resolves to %s', async (what, addresses) => {
    const host = `hooks-${answers.size}.example.com`;
    answers.set(host, addresses);
    const endpoint = await createEndpoint(app, org.token, { url: `https://${host}/hook`, eventTypes: ['license.created'] });
    const before = receiver.requests.length;
    await createLicenseAs(app, org.token);
    await deliverDueWebhooks(app.services, { organizationId: org.orgId });
    const delivery = await waitForStatus(app, endpoint.id, ['FAILED', 'DEAD', 'DELIVERED']);
    expect(delivery.status, what).toBe('FAILED');
    const [attempt] = await attemptsOf(app, delivery.id);
    expect(attempt!.error).toMatch(/^not sent: .* resolves to .*, a non-public address$/);
    expect(attempt!.statusCode).toBeNull();
    expect(receiver.requests.length).toBe(before);
    await gql(app, `mutation($i: DeleteWebhookEndpointInput!) { deleteWebhookEndpoint(input: $i) { __typename } }`, { i: { id: endpoint.id } }, org.token);
  });

  it.each([
    'https://[64:ff9b::7f00:1]/hook',
    'https://[64:ff9b::a9fe:a9fe]/hook',
    'https://[2002:7f00:1::]/hook',
    'https://[::127.0.0.1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://[::1]/hook',
    'https://[fe80::1]/hook',
    'https://240.0.0.1/hook',
  ])('refuses the endpoint URL %s at once', async (url) => {
    const result = await gql(app, CREATE_ENDPOINT, { input: { url, eventTypes: ['*'] } }, org.token);
    expect(result.data?.createWebhookEndpoint).toMatchObject({ __typename: 'InvalidInput', field: 'url' });
  });
});

describe('where private targets are allowed (tests, development)', () => {
  let app: App;
  let org: Awaited<ReturnType<typeof seedOrganization>>;
  beforeAll(async () => {
    // A test-environment server takes http receivers by name, as a developer's would.
    app = await startApp({ WEBHOOK_ALLOW_PRIVATE: '1', LEASEHOLD_ENVIRONMENT: 'test' }, { resolveHost });
    org = await seedOrganization(app);
  });
  afterAll(() => app.close());

  it('connects to the address the name resolved to, once, with the name as Host', async () => {
    // A name the system's resolver cannot know: only a connection to the checked address reaches the receiver.
    answers.set('receiver.invalid', ['127.0.0.1']);
    const port = new URL(receiver.url).port;
    const endpoint = await createEndpoint(app, org.token, { url: `http://receiver.invalid:${port}/hook`, eventTypes: ['license.created'] });
    const before = receiver.requests.length;
    asked.length = 0;
    await createLicenseAs(app, org.token);
    await deliverDueWebhooks(app.services, { organizationId: org.orgId });
    const delivery = await waitForStatus(app, endpoint.id, ['FAILED', 'DEAD', 'DELIVERED']);
    expect(delivery.status, JSON.stringify(await attemptsOf(app, delivery.id))).toBe('DELIVERED');
    expect(receiver.requests.length).toBe(before + 1);
    expect(receiver.requests.at(-1)!.headers.host).toBe(`receiver.invalid:${port}`);
    expect(asked.filter((name) => name === 'receiver.invalid')).toHaveLength(1);
  });
});
