/** The seat queue of client apps (the license key is the credential): ticket heartbeats, leaving, claiming, and the ticket's feed. */
import { builder } from '../schema/builder.ts';
import { seatCaller } from '../schema/context.ts';
import { AcquireSeatResult, QueueTicketInput, QueueTicketResult, QueueTicketType } from '../schema/seat.ts';
import { claimQueuedSeat, heartbeatQueueTicket, leaveQueue, seatQueueUpdates } from '../services/seats/queue.ts';
import { unwrap } from '../services/errors.ts';

const HeartbeatQueueTicketInput = QueueTicketInput('HeartbeatQueueTicketInput');
const LeaveQueueInput = QueueTicketInput('LeaveQueueInput');
const ClaimQueuedSeatInput = QueueTicketInput('ClaimQueuedSeatInput');

const ticketInput = (input: { licenseKey: string; ticketId: string | number }) => ({ licenseKey: input.licenseKey, ticketId: String(input.ticketId) });

builder.mutationFields((t) => ({
  heartbeatQueueTicket: t.field({
    skipTypeScopes: true,
    type: QueueTicketResult,
    description: 'Keeps a waiting ticket in line for claimSeconds more.',
    args: { input: t.arg({ type: HeartbeatQueueTicketInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await heartbeatQueueTicket(ctx.services, ticketInput(input), seatCaller(ctx))),
  }),
  leaveQueue: t.field({
    skipTypeScopes: true,
    type: QueueTicketResult,
    description: 'Leaves the line; a seat set aside for the ticket passes to the next.',
    args: { input: t.arg({ type: LeaveQueueInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await leaveQueue(ctx.services, ticketInput(input), seatCaller(ctx))),
  }),
  claimQueuedSeat: t.field({
    skipTypeScopes: true,
    extensions: { signs: true },
    type: AcquireSeatResult,
    description: 'Turns the seat set aside for a READY ticket into a session (SeatGranted); a waiting ticket answers SeatQueued.',
    args: { input: t.arg({ type: ClaimQueuedSeatInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await claimQueuedSeat(ctx.services, ticketInput(input), seatCaller(ctx))),
  }),
}));

builder.subscriptionFields((t) => ({
  seatQueueUpdated: t.field({
    skipTypeScopes: true,
    type: QueueTicketType,
    description: "The ticket now, then every change of its position and status until it ends; the license key is the credential.",
    args: { licenseKey: t.arg.string({ required: true }), ticketId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => unwrap(await seatQueueUpdates(ctx.services, ticketInput(args))),
    resolve: (ticket) => ticket,
  }),
}));
