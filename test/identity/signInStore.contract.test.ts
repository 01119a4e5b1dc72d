/**
 * One contract, two implementations: the sign-in store on Redis and the in-process one of the
 * embedded mode. The suite lives in support/signInStoreContract.ts.
 */
import { afterAll } from 'vitest';
import { connectRedis } from '../../src/stores/redisConnection.ts';
import { createMemorySignInStore } from '../../src/stores/signIns/memory.ts';
import { createRedisSignInStore } from '../../src/stores/signIns/redis.ts';
import { describeSignInStoreContract } from '../support/signInStoreContract.ts';

// Same default as support/harness.ts, which is not imported here because it builds the whole app.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = await connectRedis(REDIS_URL);
afterAll(() => redis.disconnect());

describeSignInStoreContract('redis', createRedisSignInStore(redis));
describeSignInStoreContract('memory', createMemorySignInStore());
