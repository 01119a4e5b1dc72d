/**
 * Publish/subscribe across instances: Lua scripts and services publish, subscriptions of every
 * instance hear it. Two implementations: Redis (production, any number of instances) and
 * in-process (embedded mode).
 */
export interface ChannelMessage {
  channel: string;
  message: string;
}

export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once attached; from then on yields every message on the channel, in order. */
  subscribe(channel: string, signal?: AbortSignal): Promise<AsyncIterableIterator<string>>;
  /** As `subscribe`, for every channel whose name starts with `prefix` (an organization-wide view). */
  subscribePrefix(prefix: string, signal?: AbortSignal): Promise<AsyncIterableIterator<ChannelMessage>>;
  close(): Promise<void>;
}
