/**
 * Pub/sub on Redis. One subscriber connection serves every local subscription and a channel
 * stays subscribed while someone here listens to it; Lua scripts publish straight from Redis,
 * so a dashboard on any instance sees every instance's changes.
 */
import { Cluster } from 'ioredis';
import type { RedisConnection } from '../redisConnection.ts';
import type { ChannelMessage, PubSub } from './contract.ts';
import { fanOut } from './fanOut.ts';

/** A glob pattern matching exactly the channels that start with `prefix`. */
const prefixPattern = (prefix: string) => `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;

export function createRedisPubSub(redis: RedisConnection): PubSub {
  // A fresh Cluster connection is not ready at once; its SUBSCRIBEs may wait for it (the request
  // path's connection refuses to queue, see connectRedis).
  const subscriber: RedisConnection =
    redis instanceof Cluster ? redis.duplicate(undefined, { enableOfflineQueue: true }) : redis.duplicate();
  subscriber.on('error', () => {});
  const channels = fanOut<string>(
    (channel) => subscriber.subscribe(channel),
    (channel) => subscriber.unsubscribe(channel),
  );
  // Keyed by pattern; PUBLISH reaches every node of a cluster, so one pattern subscription hears all of them.
  const patterns = fanOut<ChannelMessage>(
    (pattern) => subscriber.psubscribe(pattern),
    (pattern) => subscriber.punsubscribe(pattern),
  );
  subscriber.on('message', (channel: string, message: string) => channels.deliver(channel, message));
  subscriber.on('pmessage', (pattern: string, channel: string, message: string) => patterns.deliver(pattern, { channel, message }));
  return {
    async publish(channel, message) {
      await redis.publish(channel, message);
    },
    subscribe: channels.subscribe,
    subscribePrefix: (prefix, signal) => patterns.subscribe(prefixPattern(prefix), signal),
    async close() {
      subscriber.disconnect();
    },
  };
}
