/**
 * One contract, two implementations: lua/record_usage.lua and the in-process meter store of the
 * embedded mode answer every metering question the same way (support/meterStoreContract.ts).
 */
import { afterAll } from 'vitest';
import { connectRedis } from '../../src/stores/redisConnection.ts';
import { createMemoryMeterStore } from '../../src/stores/meters/memory.ts';
import { createRedisMeterStore } from '../../src/stores/meters/redis.ts';
import { createTokenBuckets } from '../../src/stores/rateLimits/memory.ts';
import { describeMeterStoreContract } from '../support/meterStoreContract.ts';

// Same default as support/harness.ts, which is not imported here because it builds the whole app.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const redis = await connectRedis(REDIS_URL);
afterAll(() => redis.disconnect());

describeMeterStoreContract('redis', createRedisMeterStore(redis));
describeMeterStoreContract('memory', createMemoryMeterStore(createTokenBuckets()));
