/** Types of the seat path: counts, sessions, signed leases, the seat operations' inputs and results. */
import type { SeatCount } from '../stores/seats/contract.ts';
import type { SeatGranted, SeatReleased, SeatRenewed, SignedLease } from '../services/seats/seats.ts';
import { findSession, type SessionView } from '../services/sessions/sessions.ts';
import { NoSeatsAvailable, SessionExpired, SessionNotFound, TooManyMachines } from '../services/errors.ts';
import { builder } from './builder.ts';
import { connectionType } from './connection.ts';
import { ErrorInterface, LICENSE_ERRORS } from './errors.ts';

export const SeatCountType = builder.objectRef<SeatCount>('SeatCount').implement({
  description: 'Used and maximum concurrent seats of a license at one instant.',
  fields: (t) => ({
    licenseId: t.exposeID('licenseId'),
    used: t.exposeInt('used'),
    max: t.exposeInt('max'),
    changedAt: t.expose('changedAt', { type: 'DateTime' }),
  }),
});

export const SessionEndReasonEnum = builder.enumType('SessionEndReason', { values: ['RELEASED', 'EXPIRED', 'REVOKED'] as const });

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
    lease: t.field({ type: SignedLeaseType, resolve: (r) => r.lease }),
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
  }),
});

export const HeartbeatSeatInput = builder.inputType('HeartbeatSeatInput', {
  fields: (t) => ({
    licenseKey: t.string({ required: true }),
    sessionId: t.id({ required: true }),
  }),
});

export const ReleaseSeatInput = builder.inputType('ReleaseSeatInput', {
  fields: (t) => ({
    licenseKey: t.string({ required: true }),
    sessionId: t.id({ required: true }),
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

export const AcquireSeatResult = builder.errorUnion('AcquireSeatResult', {
  types: [SeatGrantedType, ...LICENSE_ERRORS, NoSeatsAvailable, TooManyMachines],
  resolveType: () => 'SeatGranted',
});
export const HeartbeatSeatResult = builder.errorUnion('HeartbeatSeatResult', {
  types: [SeatRenewedType, ...LICENSE_ERRORS, SessionExpired, SessionNotFound],
  resolveType: () => 'SeatRenewed',
});
export const ReleaseSeatResult = builder.errorUnion('ReleaseSeatResult', {
  types: [SeatReleasedType, ...LICENSE_ERRORS, SessionNotFound],
  resolveType: () => 'SeatReleased',
});
export const RevokeSessionResult = builder.errorUnion('RevokeSessionResult', {
  types: [SessionRevokedType, SessionNotFound],
  resolveType: () => 'SessionRevoked',
});
