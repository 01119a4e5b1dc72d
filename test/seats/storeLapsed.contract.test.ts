/**
 * Lapsed leases on both seat stores of one node: the Lua scripts on Redis and the in-process
 * store of the embedded mode (storeCluster.contract.test.ts runs the same suite on Redis Cluster).
 */
import { afterAll } from 'vitest';
import { connectRedis } from '../../src/stores/redisConnection.ts';
import { createMemorySeatStore } from '../../src/stores/seats/memory.ts';
import { createMemoryPubSub } from '../../src/stores/pubsub/memory.ts';
import { createRedisSeatStore } from '../../src/stores/seats/redis.ts';
import { describeLapsedLeaseContract } from '../support/seatStoreLapsedContract.ts';

// Same default as support/harness.ts, which is not imported here because it builds the whole app.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const redis = await connectRedis(REDIS_URL);
afterAll(() => {
  redis.disconnect();
});

describeLapsedLeaseContract('redis', createRedisSeatStore(redis));
describeLapsedLeaseContract('memory', createMemorySeatStore(createMemoryPubSub()));
