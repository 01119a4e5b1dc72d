/** The audit log as the API shows it, and the verdict of a chain verification. */
import type { AuditLogRow } from '../db/rows.ts';
import type { AuditChainVerdict } from '../services/audit/auditLog.ts';
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
    id: t.exposeID('id'),
    reason: t.exposeString('reason', {
      description: 'hash-mismatch: the row was changed; link-mismatch: a row before it was removed or changed.',
    }),
  }),
});

export const AuditChainVerdictType = builder.objectRef<AuditChainVerdict>('AuditChainVerdict').implement({
  fields: (t) => ({
    valid: t.exposeBoolean('valid'),
    checkedRows: t.exposeInt('checkedRows'),
    brokenAt: t.field({ type: AuditChainBreakType, nullable: true, resolve: (v) => v.brokenAt }),
  }),
});
