/**
 * Forcing the worst interleaving of a race: a test holds a row locked in its own transaction,
 * starts the racing callers, and lets go once they all wait, so each of them has read what it
 * read before any of them could write.
 */
import type postgres from 'postgres';
import { sleep } from './harness.ts';

/**
 * Resolves once `count` backends wait behind the locks `tx` holds, directly or queued behind
 * one another (a second waiter on a tuple queues behind the first, not behind `tx`).
 */
export async function untilQueued(tx: postgres.TransactionSql, count: number, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(10)) {
    const [queue] = await tx<{ waiting: number }[]>`
      with recursive queued(pid) as (
        select pid from pg_stat_activity where pg_backend_pid() = any(pg_blocking_pids(pid))
        union
        select a.pid from pg_stat_activity a join queued on queued.pid = any(pg_blocking_pids(a.pid)))
      select count(*)::int as waiting from queued`;
    if (queue!.waiting === count) return;
    if (Date.now() > deadline) throw new Error(`${queue!.waiting} of ${count} callers reached the locked row`);
  }
}
