/**
 * Service-level fixtures for API keys: the services of one app instance with API-key state of
 * its own (two of them act as two instances).
 */
import type { App } from '../../src/app.ts';
import { createMemoryUsageStore } from '../../src/stores/usage/memory.ts';
import type { UsageStore } from '../../src/stores/usage/contract.ts';
import { createApiKeyLookups } from '../../src/services/apiKeys/lookups.ts';
import type { ApiKeyEnvironment } from '../../src/services/apiKeys/secrets.ts';
import type { ServiceContext } from '../../src/services/context.ts';
import { DEFAULT_RATE_LIMITS, type RateLimitPolicy } from '../../src/config/rateLimitPolicy.ts';
import { createUsageRecorder } from '../../src/services/usage/recording.ts';

export function instanceServices(
  app: App,
  options: { cacheMs?: number; environment?: 'live' | 'test'; rateLimits?: RateLimitPolicy; usageStore?: UsageStore } = {},
): ServiceContext {
  const db = app.services.db;
  const cacheMs = options.cacheMs ?? 5000;
  return {
    ...app.services,
    config: {
      ...app.services.config,
      environment: options.environment ?? 'live',
      rateLimits: options.rateLimits ?? DEFAULT_RATE_LIMITS,
      apiKeyCacheMs: cacheMs,
    },
    apiKeys: createApiKeyLookups(db, { ttlMs: cacheMs }),
    usage: createUsageRecorder(options.usageStore ?? createMemoryUsageStore(), db, app.services.clock),
  };
}

/** A request to a live server from an address no allowlist in these tests names by accident. */
export const LIVE: { clientIp: string; serverEnvironment: ApiKeyEnvironment } = { clientIp: '203.0.113.10', serverEnvironment: 'live' };
