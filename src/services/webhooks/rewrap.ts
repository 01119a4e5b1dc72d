/**
 * `npm run cli -- rewrap`: after a key rotation (a new WEBHOOK_SECRET_KEY version, a new KMS
 * key or primary version), every stored webhook secret is sealed again under the key that wraps
 * new data keys, so the old key can be retired. v1 ciphertexts (before envelopes) are sealed as
 * v2, which binds them to their slot and expiry.
 *
 * Safe while servers run: each endpoint is written with a compare-and-set on the ciphertexts and
 * the expiry it read, so a rotation in between wins and the endpoint is counted as changed (its
 * new ciphertext was sealed by that server, run rewrap again if that one had an older key).
 * Idempotent: what is already current is not written. Batches of `batchSize` endpoints by id,
 * across organizations (an operator's maintenance, on the connecting user). Counts only: no
 * secret, no ciphertext leaves this function.
 */
import { and, asc, eq, gt, isNull, type SQL } from 'drizzle-orm';
import { webhookEndpoints } from '../../db/schema.ts';
import type { ServiceContext } from '../context.ts';
import { databaseWork } from '../database.ts';
import { SecretUnsealError } from '../encryption/envelope.ts';
import { openEndpointSecret, sealEndpointSecret, type SecretSlot } from './secrets.ts';

export interface RewrapCounts {
  /** The key every ciphertext is now under. */
  keyId: string;
  endpoints: number;
  /** Ciphertexts sealed again, by the key (or `v1`) they were under. */
  rewrapped: Record<string, number>;
  alreadyCurrent: number;
  /** Endpoints changed (rotated, deleted) between the read and the write: left as they are. */
  changedMeanwhile: number;
  /** Ciphertexts that do not open here, by endpoint id and reason (never the ciphertext). */
  failed: { endpointId: string; slot: SecretSlot['slot']; reason: string }[];
}

export async function rewrapWebhookSecrets(ctx: ServiceContext, options: { batchSize?: number } = {}): Promise<RewrapCounts> {
  const batchSize = options.batchSize ?? 100;
  const box = ctx.webhookSecrets;
  const counts: RewrapCounts = {
    keyId: await box.currentKeyId(),
    endpoints: 0,
    rewrapped: {},
    alreadyCurrent: 0,
    changedMeanwhile: 0,
    failed: [],
  };
  let after = '';
  for (;;) {
    const batch = await databaseWork(() =>
      ctx.db
        .select({
          id: webhookEndpoints.id,
          secretCiphertext: webhookEndpoints.secretCiphertext,
          previousSecretCiphertext: webhookEndpoints.previousSecretCiphertext,
          previousSecretExpiresAt: webhookEndpoints.previousSecretExpiresAt,
        })
        .from(webhookEndpoints)
        .where(gt(webhookEndpoints.id, after))
        .orderBy(asc(webhookEndpoints.id))
        .limit(batchSize),
    );
    if (batch.length === 0) return counts;
    after = batch.at(-1)!.id;
    counts.endpoints += batch.length;

    for (const row of batch) {
      const slots: Array<{ sealed: string; slot: SecretSlot }> = [{ sealed: row.secretCiphertext, slot: { slot: 'current' } }];
      if (row.previousSecretCiphertext !== null && row.previousSecretExpiresAt !== null) {
        slots.push({ sealed: row.previousSecretCiphertext, slot: { slot: 'previous', expiresAt: row.previousSecretExpiresAt } });
      }
      const resealed: string[] = [];
      const moved: string[] = [];
      let failed = false;
      for (const { sealed, slot } of slots) {
        if (await box.isCurrent(sealed)) {
          counts.alreadyCurrent++;
          resealed.push(sealed);
          continue;
        }
        try {
          const secret = await openEndpointSecret(box, sealed, row.id, slot);
          resealed.push(await sealEndpointSecret(box, secret, row.id, slot));
          moved.push(box.keyIdOf(sealed));
        } catch (error) {
          if (!(error instanceof SecretUnsealError) || error.reason === 'unavailable') throw error;
          counts.failed.push({ endpointId: row.id, slot: slot.slot, reason: error.message });
          failed = true;
        }
      }
      if (failed || moved.length === 0) continue;

      const unchanged: SQL[] = [eq(webhookEndpoints.id, row.id), eq(webhookEndpoints.secretCiphertext, row.secretCiphertext)];
      unchanged.push(
        row.previousSecretCiphertext === null
          ? isNull(webhookEndpoints.previousSecretCiphertext)
          : eq(webhookEndpoints.previousSecretCiphertext, row.previousSecretCiphertext),
      );
      unchanged.push(
        row.previousSecretExpiresAt === null
          ? isNull(webhookEndpoints.previousSecretExpiresAt)
          : eq(webhookEndpoints.previousSecretExpiresAt, row.previousSecretExpiresAt),
      );
      const written = await databaseWork(() =>
        ctx.db
          .update(webhookEndpoints)
          // Not updatedAt: the endpoint is as it was, only its ciphertexts' key changed.
          .set({ secretCiphertext: resealed[0]!, previousSecretCiphertext: slots[1] ? resealed[1]! : row.previousSecretCiphertext })
          .where(and(...unchanged))
          .returning({ id: webhookEndpoints.id }),
      );
      if (written.length === 0) {
        counts.changedMeanwhile++;
        continue;
      }
      for (const keyId of moved) counts.rewrapped[keyId] = (counts.rewrapped[keyId] ?? 0) + 1;
    }
  }
}
