/**
 * A license's machines: the fingerprints that count against maxMachines, listed with when they
 * were first and last seen, and deactivated by an operator so another machine can take the place
 * (bounded by maxDeactivationsPerMonth, so swapping machines cannot stand in for more seats).
 */
import { and, count, eq, gte } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import { licenses, machineDeactivations, machines } from '../../db/schema.ts';
import { rowsOf } from '../../db/client.ts';
import type { Transaction } from '../../db/tenant.ts';
import { appendAudit } from '../audit/auditLog.ts';
import { emitEvent } from '../webhooks/events.ts';
import { endOpenSessions } from '../sessions/sessions.ts';
import type { Actor, ServiceContext } from '../context.ts';
import {
  DeactivationLimitReached,
  err,
  InvalidInput,
  LicenseNotFound,
  MachineInUse,
  MachineNotFound,
  ok,
  type Result,
} from '../errors.ts';
import { newId } from '../../lib/ids.ts';
import { checkFingerprint } from '../licenses/fingerprints.ts';
import { tenantWork } from '../database.ts';
import { withLoadedLicense } from './seats.ts';

export interface MachineView {
  fingerprint: string;
  firstSeenAt: Date;
  /** The last heartbeat of any of its sessions, or its activation when it has none. */
  lastSeenAt: Date;
  /** Sessions of the machine that are open and unexpired as Postgres records them. */
  activeSessions: number;
}

type RawMachine = { fingerprint: string; firstSeenAt: string | Date; lastSeenAt: string | Date; activeSessions: number | string };

const machineView = (raw: RawMachine): MachineView => ({
  fingerprint: raw.fingerprint,
  firstSeenAt: new Date(raw.firstSeenAt),
  lastSeenAt: new Date(raw.lastSeenAt),
  activeSessions: Number(raw.activeSessions),
});

/** Machines of one license, in the order they were first seen; at most `limit`, starting after the cursor's machine. */
async function readMachines(
  tx: Transaction,
  licenseId: string,
  at: Date,
  options: { limit: number; after?: string | null; fingerprint?: string },
): Promise<MachineView[]> {
  const after = options.after
    ? sql`and (m.created_at, m.fingerprint) > (select created_at, fingerprint from machines
                                                where license_id = ${licenseId} and fingerprint = ${options.after})`
    : sql``;
  const only = options.fingerprint !== undefined ? sql`and m.fingerprint = ${options.fingerprint}` : sql``;
  const rows = await tx.execute(sql`
    select m.fingerprint, m.created_at as "firstSeenAt", greatest(m.created_at, s.last_seen) as "lastSeenAt", s.active as "activeSessions"
      from (select fingerprint, created_at, license_id from machines m
             where m.license_id = ${licenseId} ${after} ${only}
             order by m.created_at, m.fingerprint limit ${options.limit}) m
      left join lateral (
        select max(last_heartbeat_at) as last_seen,
               count(*) filter (where ended_at is null and expires_at > ${at.toISOString()}::timestamptz) as active
          from seat_sessions where license_id = m.license_id and fingerprint = m.fingerprint) s on true
     order by m.created_at, m.fingerprint`);
  return rowsOf<RawMachine>(rows).map(machineView);
}

/** A page of a license's machines; the cursor is the last fingerprint of the previous page. */
export async function listMachines(
  ctx: ServiceContext,
  orgId: string,
  licenseId: string,
  options: { first: number; after?: string | null },
): Promise<{ rows: MachineView[]; hasNextPage: boolean }> {
  const rows = await tenantWork(ctx, orgId, (tx) =>
    readMachines(tx, licenseId, new Date(ctx.clock.now()), { limit: options.first + 1, after: options.after }),
  );
  return { rows: rows.slice(0, options.first), hasNextPage: rows.length > options.first };
}

const monthStart = (at: Date) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));

export type DeactivateError = InvalidInput | LicenseNotFound | MachineNotFound | MachineInUse | DeactivationLimitReached;

/**
 * Deactivates a machine of a license. Refused while a live session holds it, unless `force`,
 * which ends those sessions (REVOKED) in the same step. The license row is locked for the whole
 * step, so concurrent deactivations are counted one after another against the monthly bound,
 * and a first acquire on the machine (whose machine row waits for the lock) cannot interleave.
 */
export async function deactivateMachine(
  ctx: ServiceContext,
  actor: Actor,
  input: { licenseId: string; fingerprint: string; force?: boolean | null },
): Promise<Result<{ machine: MachineView }, DeactivateError>> {
  const invalid = checkFingerprint(input.fingerprint);
  if (invalid) return err(invalid);
  const { licenseId, fingerprint } = input;
  const at = new Date(ctx.clock.now());
  let storeChanged = false;
  try {
    return await tenantWork(ctx, actor.orgId, async (tx): Promise<Result<{ machine: MachineView }, DeactivateError>> => {
      const [license] = await tx
        .select({ limit: licenses.maxDeactivationsPerMonth })
        .from(licenses)
        .where(eq(licenses.id, licenseId))
        .for('update');
      if (!license) return err(new LicenseNotFound());
      const [machine] = await readMachines(tx, licenseId, at, { limit: 1, fingerprint });
      if (!machine) return err(new MachineNotFound());
      if (license.limit !== null) {
        const [done] = await tx
          .select({ n: count() })
          .from(machineDeactivations)
          .where(and(eq(machineDeactivations.licenseId, licenseId), gte(machineDeactivations.deactivatedAt, monthStart(at))));
        if (done!.n >= license.limit) return err(new DeactivationLimitReached(license.limit));
      }

      const outcome = await withLoadedLicense(ctx, licenseId, undefined, () => ctx.seats.deactivate(licenseId, fingerprint, input.force === true));
      if (outcome.kind === 'in-use') return err(new MachineInUse(outcome.liveSessions));
      storeChanged = true;

      await tx.delete(machines).where(and(eq(machines.licenseId, licenseId), eq(machines.fingerprint, fingerprint)));
      await tx.insert(machineDeactivations).values({ id: newId('mdx'), orgId: actor.orgId, licenseId, fingerprint, deactivatedAt: at });
      const ended = await endOpenSessions(tx, actor, { sessionIds: outcome.endedSessionIds }, at, outcome.seats);
      await appendAudit(tx, actor, [
        {
          action: 'machine.deactivated',
          resourceType: 'license',
          resourceId: licenseId,
          data: { fingerprint, force: input.force === true, endedSessions: ended.map((s) => s.id) },
        },
      ]);
      await emitEvent(tx, actor.orgId, 'machine.deactivated', {
        licenseId,
        machine: { fingerprint, firstSeenAt: machine.firstSeenAt.toISOString() },
        endedSessionIds: ended.map((s) => s.id),
        seats: { used: outcome.seats.used, max: outcome.seats.max },
      });
      return ok({ machine: { ...machine, activeSessions: 0 } });
    });
  } catch (error) {
    // Postgres did not record the deactivation that the seat store made: the machine counts
    // again (its ended leases stay ended, and the sweeper ends their sessions).
    if (storeChanged) {
      await ctx.seats.activate(licenseId, fingerprint, false).catch((undoError: unknown) => {
        ctx.log.error('could not restore a machine after a failed deactivation', { licenseId, error: String(undoError) });
      });
    }
    throw error;
  }
}
