/** Both pub/sub stores (a subscription is attached upstream once it resolves) deliver a prefix subscription every channel that starts with the prefix, and no other. */
import { afterAll, describe, expect, it } from 'vitest';
import type { PubSub } from '../../src/stores/pubsub/contract.ts';
import { createMemoryPubSub } from '../../src/stores/pubsub/memory.ts';
import { createRedisPubSub } from '../../src/stores/pubsub/redis.ts';
import { connectRedis } from '../../src/stores/redisConnection.ts';

// Same default as support/harness.ts, which is not imported here because it builds the whole app.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = await connectRedis(REDIS_URL);
const stores: [string, PubSub][] = [
  ['redis', createRedisPubSub(redis)],
  ['memory', createMemoryPubSub()],
];
afterAll(async () => {
  for (const [, store] of stores) await store.close();
  redis.disconnect();
});

describe.each(stores)('%s pub/sub', (_name, store) => {
  it('delivers every channel under the prefix, in order, and nothing outside it', async () => {
    const run = crypto.randomUUID();
    const prefix = `test:${run}:seats:`;
    const messages = await store.subscribePrefix(prefix);
    await store.publish(`test:${run}:other:lic_a`, 'not ours');
    await store.publish(`${prefix}lic_a`, '1');
    await store.publish(`test:${run}:seat`, 'not ours either');
    await store.publish(`${prefix}lic_b`, '2');
    expect((await messages.next()).value).toEqual({ channel: `${prefix}lic_a`, message: '1' });
    expect((await messages.next()).value).toEqual({ channel: `${prefix}lic_b`, message: '2' });
    await messages.return!();
  });

  it('takes glob characters in a prefix literally', async () => {
    const run = crypto.randomUUID();
    const messages = await store.subscribePrefix(`test:${run}:[a]*?`);
    await store.publish(`test:${run}:a-not-literal`, 'no');
    await store.publish(`test:${run}:[a]*?x`, 'yes');
    expect((await messages.next()).value).toEqual({ channel: `test:${run}:[a]*?x`, message: 'yes' });
    await messages.return!();
  });
});
