/**
 * Licenses: creation (the key is shown once), changes that reach the seat path at once, reads,
 * and resolving a key to its license for the seat operations.
 */
import { and, asc, eq, gt, inArray, type SQL } from 'drizzle-orm';
import { licenses } from '../../db/schema.ts';
import type { LicenseRow } from '../../db/rows.ts';
import type { LeasingStrategy, LicenseTerms, OverageStrategy } from '../../stores/seats/contract.ts';
import { appendAudit } from '../audit/auditLog.ts';
import { emitEvent, licenseData } from '../webhooks/events.ts';
import { endOpenSessions } from '../sessions/sessions.ts';
import type { Actor, ServiceContext } from '../context.ts';
import { err, guarded, InvalidInput, LicenseNotFound, ok, type Result } from '../errors.ts';
import { isId, newId } from '../../lib/ids.ts';
import { DAY_MS } from '../../lib/clock.ts';
import type { ResolvedKey } from '../context.ts';
import { databaseWork, tenantWork } from '../database.ts';
import { checkMeters, meterTerms, type MeterInput } from './meterDefinitions.ts';

export interface LicenseInput {
  tier: string;
  features: string[];
  maxSeats: number;
  maxMachines: number | null;
  leaseSeconds: number | null;
  reviveSeconds: number | null;
  expiresAt: Date | null;
  metadata: Record<string, unknown> | null;
  meters?: MeterInput[] | null;
  /** The seat policies, each optional: absent is the default. */
  overage?: OverageStrategy | null;
  leasingStrategy?: LeasingStrategy | null;
  maxProcessesPerMachine?: number | null;
  lingerSeconds?: number | null;
  queue?: SeatQueuePolicy | null;
  /** null = unlimited */
  maxDeactivationsPerMonth?: number | null;
  /** 0 = no borrowing */
  maxBorrowDays?: number | null;
  /** null = no bound beyond maxSeats */
  maxBorrowedSeats?: number | null;
}

/** The seat queue of a license as the API sets and shows it. */
export interface SeatQueuePolicy {
  enabled: boolean;
  maxLength: number;
  claimSeconds: number;
}

/** Absent fields stay as they are; `maxMachines: null` means unlimited, `expiresAt: null` never. */
export interface LicensePatch {
  tier?: string;
  features?: string[];
  maxSeats?: number;
  maxMachines?: number | null;
  leaseSeconds?: number;
  reviveSeconds?: number;
  expiresAt?: Date | null;
  metadata?: Record<string, unknown>;
  overage?: OverageStrategy;
  leasingStrategy?: LeasingStrategy;
  /** null = unlimited */
  maxProcessesPerMachine?: number | null;
  lingerSeconds?: number;
  queue?: SeatQueuePolicy;
  /** null = unlimited */
  maxDeactivationsPerMonth?: number | null;
  maxBorrowDays?: number;
  /** null = no bound beyond maxSeats */
  maxBorrowedSeats?: number | null;
  /** Replaces the license's meters; counts of meters kept go on. */
  meters?: MeterInput[];
}

/** The longest any license lets a seat be borrowed for. */
export const MAX_BORROW_DAYS = 365;

const LIMITS = {
  tier: 64,
  feature: 64,
  features: 200,
  maxSeats: 1_000_000,
  leaseSeconds: 86_400,
  reviveSeconds: 86_400,
  lingerSeconds: 86_400,
  queueMaxLength: 100_000,
  queueClaimSeconds: 3_600,
  metadataBytes: 16_384,
  maxDeactivationsPerMonth: 1_000_000,
  maxBorrowDays: MAX_BORROW_DAYS,
};

function validate(input: LicensePatch | LicenseInput): InvalidInput | undefined {
  if (input.tier !== undefined && (input.tier.trim() === '' || input.tier.length > LIMITS.tier)) {
    return new InvalidInput(`tier must be 1 to ${LIMITS.tier} characters`, 'tier');
  }
  if (input.features !== undefined) {
    if (input.features.length > LIMITS.features) return new InvalidInput(`at most ${LIMITS.features} features`, 'features');
    if (input.features.some((f) => f.trim() === '' || f.length > LIMITS.feature)) {
      return new InvalidInput(`each feature must be 1 to ${LIMITS.feature} characters`, 'features');
    }
  }
  if (input.maxSeats !== undefined && (input.maxSeats < 1 || input.maxSeats > LIMITS.maxSeats)) {
    return new InvalidInput(`maxSeats must be between 1 and ${LIMITS.maxSeats}`, 'maxSeats');
  }
  if (input.maxMachines != null && input.maxMachines < 1)
    return new InvalidInput('maxMachines must be at least 1 (or null for unlimited)', 'maxMachines');
  if (input.maxProcessesPerMachine != null && input.maxProcessesPerMachine < 1) {
    return new InvalidInput('maxProcessesPerMachine must be at least 1 (or null for unlimited)', 'maxProcessesPerMachine');
  }
  if (input.maxDeactivationsPerMonth != null && (input.maxDeactivationsPerMonth < 0 || input.maxDeactivationsPerMonth > LIMITS.maxDeactivationsPerMonth)) {
    return new InvalidInput(
      `maxDeactivationsPerMonth must be between 0 and ${LIMITS.maxDeactivationsPerMonth} (or null for unlimited)`,
      'maxDeactivationsPerMonth',
    );
  }
  if (input.maxBorrowDays != null && (input.maxBorrowDays < 0 || input.maxBorrowDays > LIMITS.maxBorrowDays)) {
    return new InvalidInput(`maxBorrowDays must be between 0 and ${LIMITS.maxBorrowDays}`, 'maxBorrowDays');
  }
  if (input.maxBorrowedSeats != null && input.maxBorrowedSeats < 0) {
    return new InvalidInput('maxBorrowedSeats must be at least 0 (or null for no bound beyond maxSeats)', 'maxBorrowedSeats');
  }
  if (input.leaseSeconds != null && (input.leaseSeconds < 1 || input.leaseSeconds > LIMITS.leaseSeconds)) {
    return new InvalidInput(`leaseSeconds must be between 1 and ${LIMITS.leaseSeconds}`, 'leaseSeconds');
  }
  if (input.reviveSeconds != null && (input.reviveSeconds < 0 || input.reviveSeconds > LIMITS.reviveSeconds)) {
    return new InvalidInput(`reviveSeconds must be between 0 and ${LIMITS.reviveSeconds}`, 'reviveSeconds');
  }
  if (input.lingerSeconds != null && (input.lingerSeconds < 0 || input.lingerSeconds > LIMITS.lingerSeconds)) {
    return new InvalidInput(`lingerSeconds must be between 0 and ${LIMITS.lingerSeconds}`, 'lingerSeconds');
  }
  if (input.queue != null) {
    if (input.queue.maxLength < 1 || input.queue.maxLength > LIMITS.queueMaxLength) {
      return new InvalidInput(`queue.maxLength must be between 1 and ${LIMITS.queueMaxLength}`, 'queue');
    }
    if (input.queue.claimSeconds < 1 || input.queue.claimSeconds > LIMITS.queueClaimSeconds) {
      return new InvalidInput(`queue.claimSeconds must be between 1 and ${LIMITS.queueClaimSeconds}`, 'queue');
    }
  }
  if (input.metadata != null && JSON.stringify(input.metadata).length > LIMITS.metadataBytes) {
    return new InvalidInput(`metadata must be at most ${LIMITS.metadataBytes} bytes of JSON`, 'metadata');
  }
  return undefined;
}

/** The seat store and the meter store apply a license's changed terms. */
async function applyTerms(ctx: ServiceContext, license: LicenseRow) {
  const applied = await guarded('The seat store', () => ctx.seats.configure(license.id, licenseTerms(license)));
  await guarded('The meter store', () => ctx.meters.configure(license.id, meterTerms(license)));
  return applied;
}

export function licenseTerms(license: LicenseRow): LicenseTerms {
  return {
    status: license.status,
    maxSeats: license.maxSeats,
    maxMachines: license.maxMachines,
    leaseMs: license.leaseSeconds * 1000,
    reviveMs: license.reviveSeconds * 1000,
    expiresAtMs: license.expiresAt?.getTime() ?? null,
    tier: license.tier,
    features: license.features,
    overage: license.overage,
    leasingStrategy: license.leasingStrategy,
    maxProcessesPerMachine: license.maxProcessesPerMachine,
    lingerMs: license.lingerSeconds * 1000,
    queue: { enabled: license.queueEnabled, maxLength: license.queueMaxLength, claimMs: license.queueClaimSeconds * 1000 },
    maxBorrowMs: license.maxBorrowDays * DAY_MS,
    maxBorrowedSeats: license.maxBorrowedSeats,
  };
}

export const queuePolicyOf = (license: LicenseRow): SeatQueuePolicy => ({
  enabled: license.queueEnabled,
  maxLength: license.queueMaxLength,
  claimSeconds: license.queueClaimSeconds,
});

/** The queue policy as the license's columns. */
const queueColumns = (queue: SeatQueuePolicy | null | undefined) =>
  queue ? { queueEnabled: queue.enabled, queueMaxLength: queue.maxLength, queueClaimSeconds: queue.claimSeconds } : {};

export async function createLicense(
  ctx: ServiceContext,
  actor: Actor,
  input: LicenseInput,
): Promise<Result<{ license: LicenseRow; key: string }, InvalidInput>> {
  const invalid = validate(input);
  if (invalid) return err(invalid);
  const meters = checkMeters(input.meters ?? []);
  if (meters instanceof InvalidInput) return err(meters);
  const { key, hash, hint } = await ctx.licenseKeys.generate();
  const license = await tenantWork(ctx, actor.orgId, async (tx) => {
    const [row] = await tx
      .insert(licenses)
      .values({
        id: newId('lic'),
        orgId: actor.orgId,
        keyHash: hash,
        keyHint: hint,
        tier: input.tier.trim(),
        features: input.features,
        maxSeats: input.maxSeats,
        maxMachines: input.maxMachines,
        leaseSeconds: input.leaseSeconds ?? ctx.config.defaultLeaseSeconds,
        reviveSeconds: input.reviveSeconds ?? 0,
        expiresAt: input.expiresAt,
        metadata: input.metadata ?? {},
        overage: input.overage ?? 'NONE',
        leasingStrategy: input.leasingStrategy ?? 'PER_MACHINE',
        maxProcessesPerMachine: input.maxProcessesPerMachine ?? null,
        lingerSeconds: input.lingerSeconds ?? 0,
        maxDeactivationsPerMonth: input.maxDeactivationsPerMonth ?? null,
        maxBorrowDays: input.maxBorrowDays ?? 0,
        maxBorrowedSeats: input.maxBorrowedSeats ?? null,
        ...queueColumns(input.queue),
        meters,
      })
      .returning();
    await appendAudit(tx, actor, [
      { action: 'license.created', resourceType: 'license', resourceId: row!.id, data: { tier: row!.tier, maxSeats: row!.maxSeats } },
    ]);
    await emitEvent(tx, actor.orgId, 'license.created', { license: licenseData(row!) });
    return row!;
  });
  return ok({ license, key });
}

export async function updateLicense(
  ctx: ServiceContext,
  actor: Actor,
  id: string,
  patch: LicensePatch,
): Promise<Result<LicenseRow, InvalidInput | LicenseNotFound>> {
  const invalid = validate(patch);
  if (invalid) return err(invalid);
  const { meters: meterInputs, ...rest } = patch;
  const meters = meterInputs && checkMeters(meterInputs);
  if (meters instanceof InvalidInput) return err(meters);
  const changes = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Omit<LicensePatch, 'meters'>;
  if (changes.tier !== undefined) changes.tier = changes.tier.trim();
  const { queue, ...columns } = changes;
  const changed = [...Object.keys(changes), ...(meters ? ['meters'] : [])];
  const license = await tenantWork(ctx, actor.orgId, async (tx) => {
    const [row] = await tx
      .update(licenses)
      .set({ ...columns, ...queueColumns(queue), ...(meters ? { meters } : {}), updatedAt: new Date(ctx.clock.now()) })
      .where(and(eq(licenses.id, id), eq(licenses.orgId, actor.orgId)))
      .returning();
    if (!row) return undefined;
    await appendAudit(tx, actor, [
      { action: 'license.updated', resourceType: 'license', resourceId: id, data: { changes: changed } },
    ]);
    await emitEvent(tx, actor.orgId, 'license.updated', { license: licenseData(row), changes: changed });
    return row;
  });
  if (!license) return err(new LicenseNotFound());
  await applyTerms(ctx, license);
  return ok(license);
}

export type LifecycleAction = 'suspended' | 'reinstated' | 'revoked' | 'renewed';

const TARGET_STATUS: Record<LifecycleAction, LicenseRow['status'] | undefined> = {
  suspended: 'SUSPENDED',
  reinstated: 'ACTIVE',
  revoked: 'REVOKED',
  renewed: undefined,
};

/** Which statuses each action may start from; revocation is final. */
const ALLOWED_FROM: Record<LifecycleAction, LicenseRow['status'][]> = {
  suspended: ['ACTIVE'],
  reinstated: ['SUSPENDED'],
  revoked: ['ACTIVE', 'SUSPENDED'],
  renewed: ['ACTIVE', 'SUSPENDED'],
};

/**
 * Suspend, reinstate, revoke or renew. Postgres records the change (and ends the open sessions
 * of a suspended or revoked license) first; the seat store then applies it in one step. A
 * lease granted between the two is ended by the store and recorded by the second pass.
 */
export async function changeLicenseLifecycle(
  ctx: ServiceContext,
  actor: Actor,
  id: string,
  action: LifecycleAction,
  options: { expiresAt?: Date; reason?: string | null } = {},
): Promise<Result<LicenseRow, LicenseNotFound | InvalidInput>> {
  if (action === 'renewed' && (!options.expiresAt || options.expiresAt.getTime() <= ctx.clock.now())) {
    return err(new InvalidInput('expiresAt must be in the future', 'expiresAt'));
  }
  const current = await getLicense(ctx, actor.orgId, id);
  if (!current) return err(new LicenseNotFound());
  if (!ALLOWED_FROM[action].includes(current.status)) {
    return err(new InvalidInput(`a ${current.status.toLowerCase()} license cannot be ${action}`, 'id'));
  }
  const status = TARGET_STATUS[action] ?? current.status;
  const endsSessions = status !== 'ACTIVE';
  const now = new Date(ctx.clock.now());
  const license = await tenantWork(ctx, actor.orgId, async (tx) => {
    const [row] = await tx
      .update(licenses)
      .set({ status, updatedAt: now, ...(options.expiresAt ? { expiresAt: options.expiresAt } : {}) })
      .where(and(eq(licenses.id, id), eq(licenses.orgId, actor.orgId), eq(licenses.status, current.status)))
      .returning();
    if (!row) return undefined;
    await appendAudit(tx, actor, [
      {
        action: `license.${action}`,
        resourceType: 'license',
        resourceId: id,
        data: { from: current.status, to: status, reason: options.reason ?? null },
      },
    ]);
    await emitEvent(tx, actor.orgId, `license.${action}`, {
      license: licenseData(row),
      from: current.status,
      to: status,
      reason: options.reason ?? null,
    });
    // Ended with the license's change, before the seat store applies it: their events carry the
    // count that step leaves, none used, since a license that is not active holds no seat.
    if (endsSessions) {
      await endOpenSessions(tx, actor, { licenseId: id }, now, { licenseId: id, used: 0, max: row.maxSeats, changedAt: now });
    }
    return row;
  });
  // Someone else changed the status between our read and our write: report the fresh state.
  if (!license) return changeLicenseLifecycle(ctx, actor, id, action, options);
  const applied = await applyTerms(ctx, license);
  // A seat granted between that transaction and the store's change has its row written since:
  // the store holds no lease of the license now, so any row still open is one of those.
  if (endsSessions && applied) {
    await tenantWork(ctx, actor.orgId, (tx) => endOpenSessions(tx, actor, { licenseId: id }, now, applied.seats));
  }
  return ok(license);
}

export async function getLicense(ctx: ServiceContext, orgId: string, id: string): Promise<LicenseRow | undefined> {
  if (!isId('lic', id)) return undefined;
  const [row] = await tenantWork(ctx, orgId, (tx) => tx.select().from(licenses).where(eq(licenses.id, id)));
  return row;
}

/** Those of `ids` that are licenses of the organization. */
export async function licensesAmong(ctx: ServiceContext, orgId: string, ids: readonly string[]): Promise<LicenseRow[]> {
  const wellFormed = ids.filter((id) => isId('lic', id));
  if (wellFormed.length === 0) return [];
  return tenantWork(ctx, orgId, (tx) => tx.select().from(licenses).where(inArray(licenses.id, wellFormed)));
}

export interface LicenseFilter {
  status?: LicenseRow['status'] | null;
  tier?: string | null;
}

/** Keyset pagination by id (ids are random, so the order is stable, not chronological). */
export async function listLicenses(
  ctx: ServiceContext,
  orgId: string,
  options: { first: number; after?: string | null; filter?: LicenseFilter | null },
) {
  const conditions: SQL[] = [];
  if (options.after) conditions.push(gt(licenses.id, options.after));
  if (options.filter?.status) conditions.push(eq(licenses.status, options.filter.status));
  if (options.filter?.tier) conditions.push(eq(licenses.tier, options.filter.tier));
  const rows = await tenantWork(ctx, orgId, (tx) =>
    tx
      .select()
      .from(licenses)
      .where(and(...conditions))
      .orderBy(asc(licenses.id))
      .limit(options.first + 1),
  );
  return { rows: rows.slice(0, options.first), hasNextPage: rows.length > options.first };
}

/**
 * The license a key belongs to, or undefined for any key this server did not issue. Runs across
 * organizations (the key is the only credential here), on the connecting user.
 */
export async function resolveLicenseKey(ctx: ServiceContext, key: string): Promise<ResolvedKey | undefined> {
  const cached = ctx.licenseKeys.cached(key);
  if (cached) return cached;
  const hash = await ctx.licenseKeys.lookupHash(key);
  if (hash === undefined) return undefined;
  const [row] = await databaseWork(() =>
    ctx.db.select({ licenseId: licenses.id, orgId: licenses.orgId }).from(licenses).where(eq(licenses.keyHash, hash)),
  );
  if (row) ctx.licenseKeys.remember(key, row);
  return row;
}
