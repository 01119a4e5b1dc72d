/** Dashboards see every seat count change live, whichever instance made it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ADMIN_TOKEN, acquire, createLicense, release, startApp } from '../support/harness.ts';
import { collect, serve, wsClient } from '../support/server.ts';

let first: App;
let second: App;
let server: Awaited<ReturnType<typeof serve>>;
beforeAll(async () => {
  [first, second] = await Promise.all([startApp(), startApp()]);
  server = await serve(first);
});
afterAll(async () => {
  await server.close();
  await Promise.all([first.close(), second.close()]);
});

const SUBSCRIBE = `subscription($id: ID!) { seatCountChanged(licenseId: $id) { licenseId used max changedAt } }`;

describe('seatCountChanged', () => {
  it('delivers every change in order over graphql-ws, including those made through a second instance', async () => {
    const license = await createLicense(first, { maxSeats: 3 });
    const client = wsClient(server.wsUrl, ADMIN_TOKEN);
    const feed = collect<{ seatCountChanged: { used: number; max: number; licenseId: string } }>(client, SUBSCRIBE, { id: license.id });
    await feed.until(1);
    const a = await acquire(first, license.key, 'one');
    const b = await acquire(second, license.key, 'two');
    await acquire(second, license.key, 'three');
    await release(second, license.key, a.session.id);
    await release(first, license.key, b.session.id);
    const events = await feed.until(6);
    expect(events.map((e) => e.seatCountChanged.used)).toEqual([0, 1, 2, 3, 2, 1]);
    expect(events.every((e) => e.seatCountChanged.licenseId === license.id && e.seatCountChanged.max === 3)).toBe(true);
    feed.dispose();
    await client.dispose();
  });

  it('streams the same over server-sent events', async () => {
    const license = await createLicense(first, { maxSeats: 2 });
    const controller = new AbortController();
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: SUBSCRIBE, variables: { id: license.id } }),
      signal: controller.signal,
    });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const used: number[] = [];
    let buffer = '';
    const readUntil = async (n: number) => {
      while (used.length < n) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const events = buffer.split('\n\n');
        buffer = events.pop()!;
        for (const event of events) {
          const data = event.split('\n').find((line) => line.startsWith('data: '));
          if (data) used.push(JSON.parse(data.slice(6)).data.seatCountChanged.used);
        }
      }
    };
    await readUntil(1);
    await acquire(second, license.key, 'sse');
    await readUntil(2);
    controller.abort();
    expect(used).toEqual([0, 1]);
  });

  it('refuses a subscriber without a credential, and one naming a license it cannot see', async () => {
    const license = await createLicense(first, { maxSeats: 1 });
    const anonymous = wsClient(server.wsUrl, null);
    await expect(collect(anonymous, SUBSCRIBE, { id: license.id }).until(1)).rejects.toThrow(/UNAUTHENTICATED|credential/);
    await anonymous.dispose();
    const operator = wsClient(server.wsUrl, ADMIN_TOKEN);
    await expect(collect(operator, SUBSCRIBE, { id: 'lic_0000000000000000000000' }).until(1)).rejects.toThrow(/No license/);
    await operator.dispose();
  });
});
