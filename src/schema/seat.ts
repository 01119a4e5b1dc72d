/** Types of the seat path: counts, sessions, signed leases, the seat operations' inputs and results. */
import type { SeatCount, SeatCountDetail } from '../stores/seats/contract.ts';
import type { QueueTicketView, SeatGranted, SeatQueued, SeatReleased, SeatRenewed, SignedLease } from '../services/seats/seats.ts';
import { findSession, type SessionView } from '../services/sessions/sessions.ts';
import { seatCount } from '../services/seats/seats.ts';
import {
  NoSeatsAvailable,
  QueueTicketExpired,
  QueueTicketNotFound,
  SessionExpired,
  SessionNotFound,
  TooManyMachines,
  TooManyProcesses,
  BorrowNotAllowed,
} from '../services/errors.ts';
import { builder, type BuilderTypes } from './builder.ts';
import type { GraphQLContext } from './context.ts';
import { connectionType } from './connection.ts';
import { ErrorInterface, LICENSE_ERRORS } from './errors.ts';

export const SeatCountType = builder.objectRef<SeatCount>('SeatCount').implement({
  description: 'Used and maximum concurrent seats of a license at one instant.',
  fields: (t) => ({
    licenseId: t.exposeID('licenseId'),
    used: t.exposeInt('used'),
    max: t.exposeInt('max'),
    changedAt: t.expose('changedAt', { type: 'DateTime' }),
    overage: t.int({
      description: 'Seats in use past maxSeats, granted under the overage strategy.',
      resolve: (c) => Math.max(0, c.used - c.max),
    }),
    queued: t.int({
      description: 'Tickets waiting in line (a count that came with a change reads this now).',
      resolve: async (c, _args, ctx) => (await detail(c, ctx)).queued,
    }),
    borrowed: t.int({
      description: 'Borrowed seats, among `used` (a count that came with a change reads this now).',
      resolve: async (c, _args, ctx) => (await detail(c, ctx)).borrowed,
    }),
  }),
});

/** A pushed count's detail, read once for all the fields that ask for it. */
const readDetails = new WeakMap<SeatCount, Promise<SeatCountDetail>>();

/** The count's detail: its own when it was read with it, else the license's now. */
const detail = (count: SeatCount, ctx: GraphQLContext): SeatCountDetail | Promise<SeatCountDetail> => {
  if ('queued' in count) return count as SeatCountDetail;
  let read = readDetails.get(count);
  if (!read) readDetails.set(count, (read = seatCount(ctx.services, count.licenseId)));
  return read;
};

export const SessionEndReasonEnum = builder.enumType('SessionEndReason', { values: ['RELEASED', 'EXPIRED', 'REVOKED'] as const });

/** A field of the session's Postgres row, read only when asked for when the session came from the seat store alone. */
const recorded = async <F extends 'userId' | 'processId' | 'borrowedUntil' | 'clientInfo'>(session: SessionView, field: F, ctx: GraphQLContext) =>
  session[field] !== undefined ? session[field] : ((await findSession(ctx.services, session.licenseId, session.id))?.[field] ?? null);

export const SeatSessionType = builder.objectRef<SessionView>('SeatSession').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    licenseId: t.exposeID('licenseId'),
    fingerprint: t.exposeString('fingerprint'),
    startedAt: t.field({
      type: 'DateTime',
      // Heartbeats answer from the seat store alone; the start time is read only when asked for.
      resolve: async (session, _args, ctx) =>
        session.startedAt ?? (await findSession(ctx.services, session.licenseId, session.id))?.startedAt ?? session.lastHeartbeatAt,
    }),
    lastHeartbeatAt: t.expose('lastHeartbeatAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true }),
    endReason: t.expose('endReason', { type: SessionEndReasonEnum, nullable: true }),
    overage: t.exposeBoolean('overage', { description: "Granted past maxSeats under the license's overage strategy." }),
    userId: t.string({ nullable: true, resolve: (session, _args, ctx) => recorded(session, 'userId', ctx) }),
    processId: t.string({ nullable: true, resolve: (session, _args, ctx) => recorded(session, 'processId', ctx) }),
    borrowedUntil: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When a borrowed seat (borrowSeat) ends; its lease needs no heartbeat until then. Null for a leased seat.',
      resolve: (session, _args, ctx) => recorded(session, 'borrowedUntil', ctx),
    }),
    clientInfo: t.field({
      type: 'JSON',
      nullable: true,
      description: 'What the app said of itself when it acquired the seat (clientInfo: app version, OS).',
      resolve: (session, _args, ctx) => recorded(session, 'clientInfo', ctx),
    }),
  }),
});

export const SignedLeaseType = builder.objectRef<SignedLease>('SignedLease').implement({
  description: 'A compact JWS that apps verify offline against /.well-known/jwks.json.',
  fields: (t) => ({
    token: t.exposeString('token'),
    payload: t.expose('payload', { type: 'JSON' }),
    signature: t.exposeString('signature'),
    algorithm: t.exposeString('algorithm'),
    keyId: t.exposeString('keyId'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

export const SeatGrantedType = builder.objectRef<SeatGranted>('SeatGranted').implement({
  fields: (t) => ({
    session: t.field({ type: SeatSessionType, resolve: (r) => r.session }),
    lease: t.field({ type: SignedLeaseType, resolve: (r) => r.lease }),
    seats: t.field({ type: SeatCountType, resolve: (r) => r.seats }),
  }),
});

export const SeatRenewedType = builder.objectRef<SeatRenewed>('SeatRenewed').implement({
  fields: (t) => ({
    session: t.field({ type: SeatSessionType, resolve: (r) => r.session }),
    lease: t.field({ type: SignedLeaseType, resolve: (r) => r.lease() }),
  }),
});

export const SeatReleasedType = builder.objectRef<SeatReleased>('SeatReleased').implement({
  fields: (t) => ({
    session: t.field({ type: SeatSessionType, resolve: (r) => r.session }),
    seats: t.field({ type: SeatCountType, resolve: (r) => r.seats }),
  }),
});

export const AcquireSeatInput = builder.inputType('AcquireSeatInput', {
  fields: (t) => ({
    licenseKey: t.string({ required: true }),
    fingerprint: t.string({ required: true, description: 'A stable id of the machine, 1 to 256 characters.' }),
    clientInfo: t.field({
      type: 'JSON',
      required: false,
      description: 'Free-form facts about the client (app version, OS), at most 4 kB.',
    }),
    userId: t.string({ required: false, description: 'The user the seat is for: required when the license leases PER_USER.' }),
    queue: t.boolean({
      required: false,
      description: "Wait in line when no seat is free and the license's queue is enabled: answered SeatQueued with a ticket.",
    }),
    processId: t.string({ required: false, description: 'The process the seat is for: required when the license leases PER_PROCESS.' }),
  }),
});

export const HeartbeatSeatInput = builder.inputType('HeartbeatSeatInput', {
  fields: (t) => ({
    licenseKey: t.string({ required: true }),
    sessionId: t.id({ required: true }),
  }),
});

const sessionOfKeyFields = (t: PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>) => ({
  licenseKey: t.string({ required: true }),
  sessionId: t.id({ required: true }),
});
export const ReleaseSeatInput = builder.inputType('ReleaseSeatInput', { fields: sessionOfKeyFields });
export const ReturnSeatInput = builder.inputType('ReturnSeatInput', { fields: sessionOfKeyFields });

export const BorrowSeatInput = builder.inputType('BorrowSeatInput', {
  fields: (t) => ({
    licenseKey: t.string({ required: true }),
    fingerprint: t.string({ required: true, description: 'A stable id of the machine, 1 to 256 characters.' }),
    days: t.int({ required: true, description: "How long to borrow the seat for, 1 day to the license's maxBorrowDays." }),
    clientInfo: t.field({ type: 'JSON', required: false, description: 'Free-form facts about the client (app version, OS), at most 4 kB.' }),
    userId: t.string({ required: false, description: 'The user the seat is for: required when the license leases PER_USER.' }),
    processId: t.string({ required: false, description: 'The process the seat is for: required when the license leases PER_PROCESS.' }),
  }),
});

const SeatBorrowedType = builder.objectRef<SeatGranted>('SeatBorrowed').implement({
  description: 'A borrowed seat: its lease expires when the borrow ends, and needs no heartbeat until then.',
  fields: (t) => ({
    session: t.field({ type: SeatSessionType, resolve: (r) => r.session }),
    lease: t.field({ type: SignedLeaseType, resolve: (r) => r.lease }),
    seats: t.field({ type: SeatCountType, resolve: (r) => r.seats }),
  }),
});

export const SeatSessionConnectionType = connectionType('SeatSession', SeatSessionType);

export const SessionRevokedType = builder.objectRef<{ session: SessionView }>('SessionRevoked').implement({
  fields: (t) => ({ session: t.field({ type: SeatSessionType, resolve: (r) => r.session }) }),
});

export const RevokeSessionInput = builder.inputType('RevokeSessionInput', {
  fields: (t) => ({ id: t.id({ required: true }) }),
});

builder.objectType(NoSeatsAvailable, {
  name: 'NoSeatsAvailable',
  interfaces: [ErrorInterface],
  fields: (t) => ({ seats: t.field({ type: SeatCountType, resolve: (e) => e.seats }) }),
});

builder.objectType(TooManyMachines, {
  name: 'TooManyMachines',
  interfaces: [ErrorInterface],
  fields: (t) => ({ maxMachines: t.exposeInt('maxMachines') }),
});

export const RequestCertificateInput = builder.inputType('RequestCertificateInput', {
  fields: (t) => ({
    licenseKey: t.string({ required: true }),
    fingerprint: t.string({ required: true, description: 'The machine the certificate is for, 1 to 256 characters.' }),
  }),
});

export const CertificateIssuedType = builder.objectRef<{ certificate: SignedLease }>('CertificateIssued').implement({
  fields: (t) => ({ certificate: t.field({ type: SignedLeaseType, resolve: (r) => r.certificate }) }),
});

export const RequestCertificateResult = builder.errorUnion('RequestCertificateResult', {
  types: [CertificateIssuedType, ...LICENSE_ERRORS, TooManyMachines],
  resolveType: () => 'CertificateIssued',
});

export const QueueStatusEnum = builder.enumType('QueueStatus', {
  description:
    'WAITING in line; READY: a seat is set aside for the ticket until expiresAt; EXPIRED: it lapsed or its seat was not claimed in time; LEFT; CLAIMED: its seat became a session.',
  values: ['WAITING', 'READY', 'EXPIRED', 'LEFT', 'CLAIMED'] as const,
});

export const QueueTicketType = builder.objectRef<QueueTicketView>('QueueTicket').implement({
  description: 'A place in the seat queue of a full license. A ticket lives claimSeconds past its last heartbeat.',
  fields: (t) => ({
    id: t.exposeID('id'),
    licenseId: t.exposeID('licenseId'),
    position: t.exposeInt('position', { description: '1 for the next in line; 0 once the ticket is no longer waiting.' }),
    status: t.expose('status', { type: QueueStatusEnum }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      description: 'WAITING: when it lapses without a heartbeat; READY: when its set-aside seat passes on unclaimed.',
    }),
  }),
});

export const SeatQueuedType = builder.objectRef<SeatQueued>('SeatQueued').implement({
  fields: (t) => ({
    ticket: t.field({ type: QueueTicketType, resolve: (r) => r.ticket }),
    seats: t.field({ type: SeatCountType, resolve: (r) => r.seats }),
  }),
});

builder.objectType(TooManyProcesses, {
  name: 'TooManyProcesses',
  interfaces: [ErrorInterface],
  fields: (t) => ({ maxProcessesPerMachine: t.exposeInt('maxProcessesPerMachine') }),
});

const QUEUE_ERRORS = [QueueTicketNotFound, QueueTicketExpired] as const;

export const AcquireSeatResult = builder.errorUnion('AcquireSeatResult', {
  types: [SeatGrantedType, SeatQueuedType, ...LICENSE_ERRORS, NoSeatsAvailable, TooManyMachines, TooManyProcesses, ...QUEUE_ERRORS],
  resolveType: (answer) => ('ticket' in answer ? 'SeatQueued' : 'SeatGranted'),
});
export const QueueTicketResult = builder.errorUnion('QueueTicketResult', {
  types: [QueueTicketType, ...LICENSE_ERRORS, ...QUEUE_ERRORS],
  resolveType: () => 'QueueTicket',
});

export const QueueTicketInput = (name: string) =>
  builder.inputType(name, {
    fields: (t) => ({
      licenseKey: t.string({ required: true }),
      ticketId: t.id({ required: true }),
    }),
  });
export const HeartbeatSeatResult = builder.errorUnion('HeartbeatSeatResult', {
  types: [SeatRenewedType, ...LICENSE_ERRORS, SessionExpired, SessionNotFound],
  resolveType: () => 'SeatRenewed',
});
export const BorrowSeatResult = builder.errorUnion('BorrowSeatResult', {
  types: [SeatBorrowedType, ...LICENSE_ERRORS, NoSeatsAvailable, TooManyMachines, TooManyProcesses, BorrowNotAllowed],
  resolveType: () => 'SeatBorrowed',
});
export const ReleaseSeatResult = builder.errorUnion('ReleaseSeatResult', {
  types: [SeatReleasedType, ...LICENSE_ERRORS, SessionNotFound],
  resolveType: () => 'SeatReleased',
});
export const RevokeSessionResult = builder.errorUnion('RevokeSessionResult', {
  types: [SessionRevokedType, SessionNotFound],
  resolveType: () => 'SessionRevoked',
});
