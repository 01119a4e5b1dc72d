/** The audit log as the API shows it, and the verdict of a chain verification. */
import type { AuditAnchorRow, AuditLogRow } from '../db/rows.ts';
import type { AuditChainVerdict } from '../services/audit/verification.ts';
import { builder } from './builder.ts';
import { connectionType } from './connection.ts';

export const AuditLogType = builder.objectRef<AuditLogRow>('AuditLog').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    action: t.exposeString('action', { description: 'A dotted name, e.g. license.created, seat.expired.' }),
    actorType: t.exposeString('actorType'),
    actorId: t.exposeString('actorId', { nullable: true }),
    resourceType: t.exposeString('resourceType'),
    resourceId: t.exposeString('resourceId'),
    data: t.expose('data', { type: 'JSON' }),
    requestId: t.exposeString('requestId', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    hash: t.exposeString('hash', { nullable: true, description: "SHA-256 over the previous row's hash and this row." }),
  }),
});

export const AuditLogConnectionType = connectionType('AuditLog', AuditLogType);

export const AuditLogFilterInput = builder.inputType('AuditLogFilter', {
  fields: (t) => ({
    action: t.string({ required: false }),
    actorId: t.string({ required: false }),
    resourceType: t.string({ required: false }),
    resourceId: t.string({ required: false }),
    from: t.field({ type: 'DateTime', required: false }),
    to: t.field({ type: 'DateTime', required: false }),
  }),
});

const AuditChainBreakType = builder.objectRef<NonNullable<AuditChainVerdict['brokenAt']>>('AuditChainBreak').implement({
  fields: (t) => ({
    id: t.exposeID('id', { nullable: true, description: 'The row at seq; null when no row is there any more.' }),
    seq: t.string({ description: "The place in the organization's chain (a decimal integer).", resolve: (b) => String(b.seq) }),
    reason: t.exposeString('reason', {
      description:
        'hash-mismatch: the row was changed; link-mismatch: a row before it was removed or changed; ' +
        'version-mismatch: the row claims a hash version older than the one before it, or one this server does not know; ' +
        'anchor-mismatch: the row at a signed anchor is not the one signed (a row after the anchor before it, up to this one, ' +
        'was changed or removed with every later hash recomputed); truncated: a signed anchor lies past the last row ' +
        '(rows were cut off the end); anchor-forged: an anchor whose signature does not hold.',
    }),
  }),
});

export const AuditAnchorType = builder.objectRef<AuditAnchorRow>('AuditAnchor').implement({
  description: "A signed head of the organization's audit chain: every row up to seq is as it was when it was signed.",
  fields: (t) => ({
    seq: t.string({ description: 'A decimal integer.', resolve: (a) => String(a.seq) }),
    hash: t.exposeString('hash'),
    keyId: t.exposeString('keyId', { description: 'The key that signed it, as the JWKS names it.' }),
    signedAt: t.expose('signedAt', { type: 'DateTime' }),
    token: t.exposeString('token', { description: 'The compact JWS (typ audit-anchor+jwt), verifiable with /.well-known/jwks.json.' }),
  }),
});

export const AuditChainVerdictType = builder.objectRef<AuditChainVerdict>('AuditChainVerdict').implement({
  fields: (t) => ({
    valid: t.exposeBoolean('valid'),
    checkedRows: t.exposeInt('checkedRows'),
    brokenAt: t.field({ type: AuditChainBreakType, nullable: true, resolve: (v) => v.brokenAt }),
    anchor: t.field({
      type: AuditAnchorType,
      nullable: true,
      description: 'The newest signed anchor the chain matches; null before the first.',
      resolve: (v) => v.anchor,
    }),
    unanchoredRows: t.exposeInt('unanchoredRows', { description: 'Rows after that anchor, not signed yet.' }),
  }),
});
