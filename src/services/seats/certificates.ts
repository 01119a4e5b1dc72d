/**
 * License certificates for apps that run offline, bound to one machine. A key holder gets one
 * only for a machine of the license: a fingerprint already activated, or one activated now
 * under maxMachines by the seat store in the same atomic step that acquire uses, so however
 * many certificates one key asks for, they cover at most maxMachines machines.
 */
import { and, eq } from 'drizzle-orm';
import { licenses, machines } from '../../db/schema.ts';
import type { LicenseRow } from '../../db/rows.ts';
import { appendAudit } from '../audit/auditLog.ts';
import type { Actor, SeatCaller, ServiceContext } from '../context.ts';
import {
  err,
  InvalidInput,
  licenseError,
  LicenseNotFound,
  ok,
  serviceUnavailable,
  TooManyMachines,
  type LicenseError,
  type Result,
} from '../errors.ts';
import { checkFingerprint } from '../licenses/fingerprints.ts';
import { resolveLicenseKey } from '../licenses/licenses.ts';
import { licenseCertificate } from '../licenses/validation.ts';
import type { SignedDocument } from '../signing/documents.ts';
import { databaseWork, tenantWork } from '../database.ts';
import { withLoadedLicense } from './seats.ts';

export async function requestCertificate(
  ctx: ServiceContext,
  input: { licenseKey: string; fingerprint: string },
  caller: SeatCaller,
): Promise<Result<SignedDocument, InvalidInput | LicenseError | TooManyMachines>> {
  const invalid = checkFingerprint(input.fingerprint);
  if (invalid) return err(invalid);
  const key = await resolveLicenseKey(ctx, input.licenseKey);
  if (!key) return err(new LicenseNotFound());
  const { licenseId, orgId } = key;
  const [license] = await databaseWork(() => ctx.db.select().from(licenses).where(eq(licenses.id, licenseId)));
  if (!license) return err(new LicenseNotFound());

  const outcome = await withLoadedLicense(ctx, licenseId, caller.rateLimit, (rate) =>
    ctx.seats.activate(licenseId, input.fingerprint, false, rate),
  );
  if (outcome.kind === 'refused') {
    return err(outcome.reason === 'TOO_MANY_MACHINES' ? new TooManyMachines(license.maxMachines ?? 0) : licenseError(outcome.reason));
  }
  if (outcome.newMachine) {
    // The store holds the activation from here on: a failure below must take it back.
    try {
      const actor: Actor = { type: 'license', id: licenseId, orgId, requestId: caller.requestId };
      await tenantWork(ctx, orgId, async (tx) => {
        await tx.insert(machines).values({ licenseId, fingerprint: input.fingerprint, orgId }).onConflictDoNothing();
        await appendAudit(tx, actor, [
          { action: 'machine.activated', resourceType: 'license', resourceId: licenseId, data: { fingerprint: input.fingerprint } },
        ]);
      });
    } catch (error) {
      await ctx.seats.activate(licenseId, input.fingerprint, true).catch((undoError: unknown) => {
        ctx.log.error('could not take back a machine activation after a failed write', { licenseId, error: String(undoError) });
      });
      throw serviceUnavailable('The database', error);
    }
  }
  return ok(await licenseCertificate(ctx, license, input.fingerprint));
}

/** An admin's certificate for an activated machine of the license; undefined for any other fingerprint. */
export async function machineCertificate(ctx: ServiceContext, license: LicenseRow, fingerprint: string): Promise<SignedDocument | undefined> {
  if (checkFingerprint(fingerprint)) return undefined;
  const [activated] = await tenantWork(ctx, license.orgId, (tx) =>
    tx
      .select({ fingerprint: machines.fingerprint })
      .from(machines)
      .where(and(eq(machines.licenseId, license.id), eq(machines.fingerprint, fingerprint))),
  );
  return activated ? licenseCertificate(ctx, license, fingerprint) : undefined;
}
