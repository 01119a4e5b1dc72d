/**
 * Runs work inside one organization: a transaction as the `leasehold_app` role with
 * `app.org_id` set, so row-level security (drizzle/0004) limits every statement to that
 * organization. Work that spans organizations by nature (resolving a license key, the sweeper,
 * sign-in) runs on the connecting user instead, and says so where it does.
 */
import { sql } from 'drizzle-orm';
import type { Database } from './client.ts';

export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

export function inTenant<T>(db: Database, orgId: string, work: (tx: Transaction) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    // Both settings are transaction-local, so nothing leaks to the pooled connection (PgBouncer-safe).
    // Sent without waiting for the answer: the statements `work` sends before its first await go
    // out behind it in the same round trip (postgres.js pipelines a transaction's queries), and
    // Postgres runs them in order, so they still run with the settings in force.
    // drizzle's queries are lazy: `then` sends this one now, before `work` sends its own.
    const settings = tx.execute(sql`select set_config('app.org_id', ${orgId}, true), set_config('role', 'leasehold_app', true)`);
    const [, result] = await Promise.all([settings.then(), work(tx)]);
    return result;
  });
}
