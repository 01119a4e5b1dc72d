/**
 * Announces licenses about to expire: each license that is active or suspended and expires
 * within LICENSE_EXPIRY_WARNING_DAYS gets one `license.expiring-soon` event per expiry date.
 * The license row records which expiry was announced (`expiry_warning_sent_for`), in the same
 * transaction as the event, so a license is announced once however many instances check; a
 * renewal changes the expiry, and the new one is announced again when it comes near.
 */
import { and, gt, inArray, isNotNull, lte, sql } from 'drizzle-orm';
import { licenses } from '../../db/schema.ts';
import type { LicenseRow } from '../../db/rows.ts';
import type { ServiceContext } from '../context.ts';
import { emitEvents, licenseData } from '../webhooks/events.ts';

const BATCH = 500;

/** One check; answers how many licenses it announced. */
export async function announceExpiringLicenses(ctx: ServiceContext): Promise<number> {
  const days = ctx.config.licenseExpiryWarningDays;
  // Licenses of every organization: system work on the connecting user, not inside one tenant.
  // SKIP LOCKED lets instances checking at once split the work instead of waiting on each other.
  return ctx.db.transaction(async (tx) => {
    const due = tx
      .select({ id: licenses.id })
      .from(licenses)
      .where(
        and(
          inArray(licenses.status, ['ACTIVE', 'SUSPENDED']),
          isNotNull(licenses.expiresAt),
          gt(licenses.expiresAt, sql`now()`),
          lte(licenses.expiresAt, sql`now() + make_interval(days => ${days})`),
          sql`${licenses.expiryWarningSentFor} is distinct from ${licenses.expiresAt}`,
        ),
      )
      .orderBy(licenses.expiresAt)
      .limit(BATCH)
      .for('update', { skipLocked: true });
    const announced = await tx
      .update(licenses)
      .set({ expiryWarningSentFor: sql`${licenses.expiresAt}` })
      .where(inArray(licenses.id, due))
      .returning();
    const byOrganization = new Map<string, LicenseRow[]>();
    for (const license of announced) byOrganization.set(license.orgId, [...(byOrganization.get(license.orgId) ?? []), license]);
    for (const [orgId, list] of byOrganization) {
      await emitEvents(
        tx,
        orgId,
        list.map((license) => ({
          type: 'license.expiring-soon' as const,
          data: { license: licenseData(license), expiresAt: license.expiresAt!.toISOString(), warningDays: days },
        })),
      );
    }
    return announced.length;
  });
}
