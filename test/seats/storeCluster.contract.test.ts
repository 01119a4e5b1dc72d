/**
 * The Redis seat store on a real 3-master Redis Cluster (started for this file): the shared
 * contracts, a race over licenses on every master, and the guard that `#!lua` buys.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Cluster } from 'ioredis';
import { connectRedis } from '../../src/stores/redisConnection.ts';
import { createRedisPubSub } from '../../src/stores/pubsub/redis.ts';
import { createRedisSeatStore } from '../../src/stores/seats/redis.ts';
import type { AcquireOutcome } from '../../src/stores/seats/contract.ts';
import { newId } from '../../src/lib/ids.ts';
import { startRedisCluster } from '../support/redisCluster.ts';
import { describeSeatStoreContract } from '../support/seatStoreContract.ts';
import { describeLapsedLeaseContract } from '../support/seatStoreLapsedContract.ts';
import { seatTerms } from '../support/seatTerms.ts';

const cluster = await startRedisCluster();
const conn = await connectRedis(cluster.nodes, { cluster: true });
const pubsub = createRedisPubSub(conn);
const store = createRedisSeatStore(conn);

afterAll(async () => {
  await pubsub.close();
  conn.disconnect();
  await cluster.stop();
});

describeSeatStoreContract('redis cluster', store, pubsub);
describeLapsedLeaseContract('redis cluster', store);

const raw = conn as Cluster;
const keySlot = async (key: string) => Number(await raw.cluster('KEYSLOT', key));

/** The master (`host:port`) that serves each slot, from CLUSTER SLOTS. */
async function slotOwners(): Promise<(slot: number) => string> {
  const ranges = await raw.cluster('SLOTS');
  return (slot) => {
    const master = ranges.find(([first, last]) => slot >= first && slot <= last)?.[2];
    if (!master) throw new Error(`slot ${slot} is not served`);
    return `${master[0]}:${master[1]}`;
  };
}

const terms = (maxSeats: number) => seatTerms({ maxSeats });

describe('seats on Redis Cluster', () => {
  it('grants exactly maxSeats per license to 100 clients × 10 acquires over licenses on every master', async () => {
    const CLIENTS = 100;
    const ACQUIRES = 10;
    const MAX_SEATS = 50;
    const PER_MASTER = 5;

    // Licenses in distinct slots, PER_MASTER on each of the three masters.
    const ownerOf = await slotOwners();
    const byMaster = new Map<string, string[]>();
    const slots = new Set<number>();
    while (byMaster.size < 3 || [...byMaster.values()].some((ids) => ids.length < PER_MASTER)) {
      const id = newId('lic');
      const slot = await keySlot(`lh:{${id}}:meta`);
      const master = ownerOf(slot);
      const ids = byMaster.get(master) ?? [];
      if (slots.has(slot) || ids.length >= PER_MASTER) continue;
      slots.add(slot);
      byMaster.set(master, [...ids, id]);
    }
    expect(byMaster.size).toBe(3);
    const licenses = [...byMaster.values()].flat();
    // Each license gets 1000 / 15 ≈ 66 attempts for its 50 seats.
    expect(Math.floor((CLIENTS * ACQUIRES) / licenses.length)).toBeGreaterThan(MAX_SEATS);
    await Promise.all(licenses.map((id) => store.load(id, terms(MAX_SEATS), [], [])));

    // 100 clients, each its own Cluster connection, each acquiring 10 times in turn.
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, async () => createRedisSeatStore(await connectRedis(cluster.nodes, { cluster: true }))),
    );
    const outcomes = new Map<string, AcquireOutcome[]>(licenses.map((id) => [id, []]));
    try {
      await Promise.all(
        clients.map(async (client, c) => {
          for (let a = 0; a < ACQUIRES; a++) {
            const licenseId = licenses[(c * ACQUIRES + a) % licenses.length]!;
            outcomes.get(licenseId)!.push(await client.acquire(licenseId, newId('ses'), `client-${c}-acquire-${a}`));
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }

    for (const id of licenses) {
      const all = outcomes.get(id)!;
      const granted = all.flatMap((o) => (o.kind === 'granted' ? [o] : []));
      expect(granted, id).toHaveLength(MAX_SEATS);
      // Decided one at a time: every grant saw a different count, 1 to 50.
      expect(granted.map((o) => o.seats.used).sort((x, y) => x - y)).toEqual(Array.from({ length: MAX_SEATS }, (_, i) => i + 1));
      for (const o of all) if (o.kind !== 'granted') expect(o).toMatchObject({ kind: 'refused', reason: 'NO_SEATS', seats: { used: 50 } });
      expect((await store.count(id))?.used).toBe(MAX_SEATS);
    }
  });

  it('refuses a #!lua script that reads an undeclared key of another slot, though that key lives on the same node', async () => {
    const ownerOf = await slotOwners();
    const declared = `lh:{${newId('lic')}}:meta`;
    const declaredSlot = await keySlot(declared);
    let undeclared: string;
    let undeclaredSlot: number;
    do {
      undeclared = `lh:{${newId('lic')}}:meta`;
      undeclaredSlot = await keySlot(undeclared);
    } while (undeclaredSlot === declaredSlot || ownerOf(undeclaredSlot) !== ownerOf(declaredSlot));

    const body = `redis.call('GET', KEYS[1])\nreturn redis.call('GET', ARGV[1])`;
    await expect(raw.eval(`#!lua\n${body}`, 1, declared, undeclared)).rejects.toThrow(/do not hash to the same slot/);
    // Without the shebang Redis runs it (compatibility mode): it works until a reshard moves one
    // of the two slots to another node. That is why every script in lua/ starts with #!lua.
    expect(await raw.eval(body, 1, declared, undeclared)).toBeNull();
    // What #!lua enforces is one slot, not the declared list: an undeclared key in a declared
    // key's slot is allowed, and safe, since a reshard moves a slot whole.
    expect(await raw.eval(`#!lua\n${body}`, 1, declared, declared.replace(/:meta$/, ':undeclared'))).toBeNull();
  });
});

describe('with every master of the cluster down', () => {
  it('fails seat calls at once instead of letting them wait for the cluster to return', async () => {
    const doomed = await startRedisCluster();
    const connection = await connectRedis(doomed.nodes, { cluster: true });
    const seats = createRedisSeatStore(connection);
    const licenseId = newId('lic');
    await seats.load(licenseId, { ...TERMS_FOR_OUTAGE }, [], []);
    await doomed.stop();
    try {
      // A hang would outlast this; a refusal arrives within ioredis' command timeout (2 s).
      const outcome = await Promise.race([
        seats.acquire(licenseId, newId('ses'), 'fp').then(
          () => 'answered',
          () => 'refused',
        ),
        new Promise((resolve) => setTimeout(() => resolve('hung'), 8000)),
      ]);
      expect(outcome).toBe('refused');
      const later = await Promise.race([
        seats.count(licenseId).then(
          () => 'answered',
          () => 'refused',
        ),
        new Promise((resolve) => setTimeout(() => resolve('hung'), 8000)),
      ]);
      expect(later).toBe('refused');
    } finally {
      connection.disconnect();
    }
  }, 30_000);
});

const TERMS_FOR_OUTAGE = seatTerms({ maxSeats: 1 });
