/**
 * Events of an integration's own (`publishEvent`): a vendor's other systems announce what they
 * know (an order paid, a plan changed) through the same outbox, so every endpoint subscribed to
 * the type gets it signed, retried and recorded like the server's own events.
 */
import { appendAudit } from '../audit/auditLog.ts';
import type { Actor, ServiceContext } from '../context.ts';
import { tenantWork } from '../database.ts';
import { err, InvalidInput, ok, type Result } from '../errors.ts';
import { CUSTOM_EVENT_TYPE_MAX, emitEvent, isCustomEventType, type CustomEventType } from './events.ts';

const LIMITS = {
  /** Serialized payload; a webhook body stays small enough for every receiver. */
  payloadBytes: 65_536,
  /** Nesting of objects and arrays; Postgres refuses jsonb much deeper than this anyway. */
  payloadDepth: 32,
};

/** How deep objects and arrays nest in a JSON value, counted without recursion. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > LIMITS.payloadDepth) return deepest;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

function checkEvent(type: string, payload: unknown): InvalidInput | undefined {
  if (!isCustomEventType(type)) {
    return new InvalidInput(
      `type must start with "custom." and continue in dotted segments of letters, digits, _ and - (at most ${CUSTOM_EVENT_TYPE_MAX} characters)`,
      'type',
    );
  }
  // Every event's data is an object (Standard Webhooks' `data`), so receivers parse one shape.
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return new InvalidInput('payload must be a JSON object', 'payload');
  }
  if (depthOf(payload) > LIMITS.payloadDepth) return new InvalidInput(`payload may nest at most ${LIMITS.payloadDepth} levels`, 'payload');
  if (new TextEncoder().encode(JSON.stringify(payload)).byteLength > LIMITS.payloadBytes) {
    return new InvalidInput(`payload must be at most ${LIMITS.payloadBytes} bytes of JSON`, 'payload');
  }
  return undefined;
}

/** Puts a custom event in the outbox (one delivery per endpoint subscribed to it) and audits it; answers its id. */
export async function publishEvent(
  ctx: ServiceContext,
  actor: Actor,
  input: { type: string; payload: unknown },
): Promise<Result<{ eventId: string }, InvalidInput>> {
  const invalid = checkEvent(input.type, input.payload);
  if (invalid) return err(invalid);
  const type = input.type as CustomEventType;
  const payload = input.payload as Record<string, unknown>;
  const eventId = await tenantWork(ctx, actor.orgId, async (tx) => {
    const id = await emitEvent(tx, actor.orgId, type, payload);
    await appendAudit(tx, actor, [{ action: 'event.published', resourceType: 'webhookEvent', resourceId: id, data: { type } }]);
    return id;
  });
  return ok({ eventId });
}
