/**
 * The periodic work of an instance: the sweeper that ends expired sessions in Postgres, the
 * flushes of buffered heartbeats and meter usage, the announcement of licenses about to expire, and (unless
 * WEBHOOK_WORKER=off) the webhook delivery worker. Failures are logged and retried on the next tick.
 */
import type { ServiceContext } from '../context.ts';
import { announceExpiringLicenses } from '../licenses/licenseExpiry.ts';
import { sweepExpiredSessions } from '../seats/sweeper.ts';
import { startWebhookWorker } from '../webhooks/worker.ts';

export interface BackgroundJobs {
  stop(): Promise<void>;
}

function every(intervalMs: number, run: () => Promise<unknown>, onError: (error: unknown) => void) {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return; // a slow run is never overlapped by the next one
    running = run()
      .catch(onError)
      .finally(() => (running = undefined));
  }, intervalMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}

export function startBackgroundJobs(ctx: ServiceContext, options: { sweeper: boolean }): BackgroundJobs {
  const stops = [
    every(
      ctx.config.heartbeatFlushMs,
      () => ctx.heartbeats.flush(),
      (e) => ctx.log.warn('heartbeat flush failed', { error: String(e) }),
    ),
    every(
      ctx.config.historyFlushMs,
      () => ctx.meterUsage.flush(),
      (e) => ctx.log.warn('meter usage flush failed', { error: String(e) }),
    ),
    every(
      ctx.config.usageFlushMs,
      () => Promise.all([ctx.apiKeys.lastUsed.flush(), ctx.usage.flush()]),
      (e) => ctx.log.warn('API-key usage flush failed', { error: String(e) }),
    ),
  ];
  if (options.sweeper) {
    stops.push(
      every(
        ctx.config.sweepIntervalMs,
        () => sweepExpiredSessions(ctx),
        (e) => ctx.log.warn('sweep failed', { error: String(e) }),
      ),
      every(
        ctx.config.licenseExpiryCheckMs,
        () => announceExpiringLicenses(ctx),
        (e) => ctx.log.warn('license expiry check failed', { error: String(e) }),
      ),
    );
  }
  if (ctx.config.webhookWorker === 'in-process') stops.push(startWebhookWorker(ctx).stop);
  return {
    async stop() {
      await Promise.all(stops.map((stop) => stop()));
      await ctx.heartbeats.flush().catch((e) => ctx.log.warn('final heartbeat flush failed', { error: String(e) }));
      await ctx.meterUsage.flush().catch((e) => ctx.log.warn('final meter usage flush failed', { error: String(e) }));
      await Promise.all([ctx.apiKeys.lastUsed.flush(), ctx.usage.flush()]).catch((e) =>
        ctx.log.warn('final API-key usage flush failed', { error: String(e) }),
      );
    },
  };
}
