/**
 * One contract, two implementations: the Redis Lua scripts and the in-process store of the
 * embedded mode must answer every seat question the same way. The suite itself lives in
 * support/seatStoreContract.ts; storeCluster.contract.test.ts runs it against Redis Cluster too.
 */
import { afterAll } from 'vitest';
import { connectRedis } from '../../src/stores/redisConnection.ts';
import { createMemorySeatStore } from '../../src/stores/seats/memory.ts';
import { createMemoryPubSub } from '../../src/stores/pubsub/memory.ts';
import { createRedisPubSub } from '../../src/stores/pubsub/redis.ts';
import { createRedisSeatStore } from '../../src/stores/seats/redis.ts';
import { describeSeatStoreContract } from '../support/seatStoreContract.ts';

// Same default as support/harness.ts, which is not imported here because it builds the whole app.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const redis = await connectRedis(REDIS_URL);
const redisPubSub = createRedisPubSub(redis);
const memoryPubSub = createMemoryPubSub();

afterAll(async () => {
  await redisPubSub.close();
  redis.disconnect();
});

describeSeatStoreContract('redis', createRedisSeatStore(redis), redisPubSub);
describeSeatStoreContract('memory', createMemorySeatStore(memoryPubSub), memoryPubSub);
