/**
 * The periodic work of an instance: the sweeper that ends expired sessions in Postgres, the
 * flushes of buffered heartbeats, meter usage, seat utilization and the verification log, the
 * roll-up of utilization history and the retention of both histories, the announcement of
 * licenses about to expire, the audit chains' signed anchors, and (unless WEBHOOK_WORKER=off)
 * the webhook delivery worker. Failures are logged and retried on the next tick.
 */
import type { ServiceContext } from '../context.ts';
import { anchorAuditChains } from '../audit/anchors.ts';
import { announceExpiringLicenses } from '../licenses/licenseExpiry.ts';
import { sweepExpiredSessions, sweepLapsedTickets } from '../seats/sweeper.ts';
import { rollUpUtilization } from '../utilization/rollUp.ts';
import { dropOldVerifications } from '../verifications/log.ts';
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
      ctx.config.historyFlushMs,
      () => ctx.utilization.flush(),
      (e) => ctx.log.warn('seat utilization flush failed', { error: String(e) }),
    ),
    every(
      ctx.config.historyFlushMs,
      () => ctx.verifications.flush(),
      (e) => ctx.log.warn('verification log flush failed', { error: String(e) }),
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
        ctx.config.sweepIntervalMs,
        () => sweepLapsedTickets(ctx),
        (e) => ctx.log.warn('queue ticket sweep failed', { error: String(e) }),
      ),
      every(
        ctx.config.licenseExpiryCheckMs,
        () => announceExpiringLicenses(ctx),
        (e) => ctx.log.warn('license expiry check failed', { error: String(e) }),
      ),
      every(
        ctx.config.rollUpIntervalMs,
        () => rollUpUtilization(ctx),
        (e) => ctx.log.warn('utilization roll-up failed', { error: String(e) }),
      ),
      every(
        ctx.config.auditAnchorIntervalMs,
        () => anchorAuditChains(ctx),
        (e) => ctx.log.warn('audit chain anchoring failed', { error: String(e) }),
      ),
      every(
        ctx.config.rollUpIntervalMs,
        () => dropOldVerifications(ctx),
        (e) => ctx.log.warn('verification log retention failed', { error: String(e) }),
      ),
    );
  }
  if (ctx.config.webhookWorker === 'in-process') stops.push(startWebhookWorker(ctx).stop);
  return {
    async stop() {
      await Promise.all(stops.map((stop) => stop()));
      await ctx.heartbeats.flush().catch((e) => ctx.log.warn('final heartbeat flush failed', { error: String(e) }));
      await ctx.meterUsage.flush().catch((e) => ctx.log.warn('final meter usage flush failed', { error: String(e) }));
      await ctx.utilization.flush().catch((e) => ctx.log.warn('final seat utilization flush failed', { error: String(e) }));
      await ctx.verifications.flush().catch((e) => ctx.log.warn('final verification log flush failed', { error: String(e) }));
      await Promise.all([ctx.apiKeys.lastUsed.flush(), ctx.usage.flush()]).catch((e) =>
        ctx.log.warn('final API-key usage flush failed', { error: String(e) }),
      );
    },
  };
}
