/**
 * Pub/sub on Redis. One subscriber connection serves every local subscription and a channel
 * stays subscribed while someone here listens to it; Lua scripts publish straight from Redis,
 * so a dashboard on any instance sees every instance's changes.
 */
import { Cluster } from 'ioredis';
import type { RedisConnection } from '../redisConnection.ts';
import type { PubSub } from './contract.ts';
import { fanOut } from './fanOut.ts';

export function createRedisPubSub(redis: RedisConnection): PubSub {
  // A fresh Cluster connection is not ready at once; its SUBSCRIBEs may wait for it (the request
  // path's connection refuses to queue, see connectRedis).
  const subscriber: RedisConnection =
    redis instanceof Cluster ? redis.duplicate(undefined, { enableOfflineQueue: true }) : redis.duplicate();
  subscriber.on('error', () => {});
  const hub = fanOut(
    (channel) => subscriber.subscribe(channel),
    (channel) => subscriber.unsubscribe(channel),
  );
  subscriber.on('message', (channel: string, message: string) => hub.deliver(channel, message));
  return {
    async publish(channel, message) {
      await redis.publish(channel, message);
    },
    subscribe: hub.subscribe,
    async close() {
      subscriber.disconnect();
    },
  };
}
