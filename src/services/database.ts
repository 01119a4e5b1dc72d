/**
 * Database work as services do it: an outage (or any failure of the driver) answers
 * SERVICE_UNAVAILABLE, never a crash. `tenantWork` runs inside one organization (RLS, see
 * db/tenant.ts); `databaseWork` runs on the connecting user, for work that spans organizations
 * by nature (resolving a license key, sign-in, the sweeper) and says so where it is used.
 */
import type { Transaction } from '../db/tenant.ts';
import { inTenant } from '../db/tenant.ts';
import type { ServiceContext } from './context.ts';
import { guarded } from './errors.ts';

export function tenantWork<T>(ctx: Pick<ServiceContext, 'db'>, orgId: string, work: (tx: Transaction) => Promise<T>): Promise<T> {
  return guarded('The database', () => inTenant(ctx.db, orgId, work));
}

export function databaseWork<T>(work: () => Promise<T>): Promise<T> {
  return guarded('The database', work);
}
