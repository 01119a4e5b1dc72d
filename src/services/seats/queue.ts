/**
 * The seat queue of client apps: a ticket kept alive by heartbeats, left, claimed once a seat
 * was set aside for it, and followed by subscription. The store decides every step (see
 * lua/lib/queue.lua); the license key is the only credential, as on the rest of the seat path.
 */
import { isId } from '../../lib/ids.ts';
import { queueChannel, type QueueTicket } from '../../stores/seats/contract.ts';
import type { SeatCaller, ServiceContext } from '../context.ts';
import { err, InvalidInput, LicenseNotFound, ok, QueueTicketExpired, QueueTicketNotFound, type Result } from '../errors.ts';
import { observed, type SeatCallFacts } from './outcomes.ts';
import { recordTicketEnded } from './queueRecord.ts';
import {
  acquire,
  grantOutcome,
  licenseOfKey,
  ticketView,
  withLoadedLicense,
  type AcquireError,
  type QueueTicketView,
  type SeatGranted,
  type SeatQueued,
} from './seats.ts';

export interface TicketInput {
  licenseKey: string;
  ticketId: string;
}

type TicketError = InvalidInput | LicenseNotFound | QueueTicketNotFound | QueueTicketExpired;

const isOpen = (ticket: QueueTicket) => ticket.status === 'WAITING' || ticket.status === 'READY';

/** The license's ticket after `action`, or undefined when the license or the ticket is unknown. */
async function ticketOf(
  ctx: ServiceContext,
  input: TicketInput,
  action: 'read' | 'heartbeat' | 'leave',
  facts: SeatCallFacts,
  caller?: SeatCaller,
): Promise<Result<QueueTicket, TicketError>> {
  if (!isId('qtk', input.ticketId)) return err(new InvalidInput('ticketId is not a queue ticket id', 'ticketId'));
  const license = await licenseOfKey(ctx, input.licenseKey, facts);
  if (!license) return err(new LicenseNotFound());
  const outcome = await withLoadedLicense(ctx, license.licenseId, caller?.rateLimit, () =>
    ctx.seats.ticket(license.licenseId, input.ticketId, action),
  );
  if (!outcome.ticket) return err(new QueueTicketNotFound());
  facts.fingerprint = outcome.ticket.fingerprint;
  return ok(outcome.ticket);
}

/** A ticket call a client makes: its ticket after `action`, or QueueTicketExpired for a lapsed one. */
function ticketCall(
  ctx: ServiceContext,
  input: TicketInput,
  caller: SeatCaller,
  operation: 'heartbeatQueueTicket' | 'leaveQueue',
  action: 'heartbeat' | 'leave',
): Promise<Result<QueueTicketView, TicketError>> {
  return observed(
    ctx,
    operation,
    caller,
    null,
    async (facts) => {
      const ticket = await ticketOf(ctx, input, action, facts, caller);
      if (!ticket.ok) return ticket;
      if (action === 'leave' && ticket.value.status === 'LEFT') {
        const actor = { type: 'license' as const, id: ticket.value.licenseId, orgId: facts.orgId!, requestId: caller.requestId };
        await recordTicketEnded(ctx, actor, ticket.value.ticketId, 'LEFT');
      }
      return ticket.value.status === 'EXPIRED' ? err(new QueueTicketExpired()) : ok(ticketView(ticket.value));
    },
    (ticket) => ({ kind: 'ticket', ticketId: ticket.id, status: ticket.status }),
  );
}

/** Keeps a WAITING ticket in line for claimSeconds more; a READY one keeps its claim deadline. */
export const heartbeatQueueTicket = (ctx: ServiceContext, input: TicketInput, caller: SeatCaller) =>
  ticketCall(ctx, input, caller, 'heartbeatQueueTicket', 'heartbeat');

/** Leaves the line (a seat set aside for the ticket passes to the next); leaving again answers LEFT. */
export const leaveQueue = (ctx: ServiceContext, input: TicketInput, caller: SeatCaller) =>
  ticketCall(ctx, input, caller, 'leaveQueue', 'leave');

/**
 * Turns the seat set aside for a READY ticket into a session of the ticket's holder; a ticket
 * still WAITING answers SeatQueued with its place.
 */
export function claimQueuedSeat(
  ctx: ServiceContext,
  input: TicketInput,
  caller: SeatCaller,
): Promise<Result<SeatGranted | SeatQueued, AcquireError>> {
  return observed(
    ctx,
    'claimQueuedSeat',
    caller,
    null,
    async (facts) => {
      const ticket = await ticketOf(ctx, input, 'read', facts);
      if (!ticket.ok) return ticket;
      if (!isOpen(ticket.value)) return err(new QueueTicketExpired());
      const { fingerprint, userId, processId } = ticket.value;
      return acquire(ctx, { licenseKey: input.licenseKey, fingerprint, userId, processId }, caller, facts, { claimTicketId: input.ticketId });
    },
    grantOutcome,
  );
}

/**
 * The ticket now, then every change of its status or position, until it ends. Attaches before
 * the first read, so no change falls between the two; each announcement of the license's
 * queue is answered by reading the ticket again, and only a change is passed on.
 */
export async function seatQueueUpdates(
  ctx: ServiceContext,
  input: TicketInput,
): Promise<Result<AsyncIterableIterator<QueueTicketView>, TicketError>> {
  const facts: SeatCallFacts = { licenseId: null, orgId: null, fingerprint: null };
  const license = await licenseOfKey(ctx, input.licenseKey, facts);
  if (!license) return err(new LicenseNotFound());
  const messages = await ctx.pubsub.subscribe(queueChannel(license.licenseId));
  try {
    const first = await ticketOf(ctx, input, 'read', facts);
    if (!first.ok) {
      await messages.return?.();
      return first;
    }
    let last: QueueTicket | undefined;
    let done = false;
    const stream: AsyncIterableIterator<QueueTicketView> = {
      async next() {
        for (;;) {
          if (done) return { value: undefined, done: true };
          let ticket: QueueTicket;
          if (!last) ticket = first.value;
          else {
            const message = await messages.next();
            if (message.done) return { value: undefined, done: true };
            const read = await ticketOf(ctx, input, 'read', facts);
            if (!read.ok) continue;
            ticket = read.value;
          }
          const changed = !last || ticket.status !== last.status || ticket.position !== last.position;
          last = ticket;
          if (!isOpen(ticket)) {
            done = true;
            await messages.return?.();
          }
          if (changed) return { value: ticketView(ticket), done: false };
        }
      },
      async return() {
        done = true;
        await messages.return?.();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => stream,
    };
    return ok(stream);
  } catch (error) {
    await messages.return?.();
    throw error;
  }
}
