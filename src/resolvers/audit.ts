/** Reading the audit log and proving its hash chain intact. */
import { AuditAnchorType, AuditChainVerdictType, AuditLogConnectionType, AuditLogFilterInput } from '../schema/audit.ts';
import { builder } from '../schema/builder.ts';
import { pageSize, toPage } from '../schema/connection.ts';
import { requireActor } from '../schema/context.ts';
import { listAuditLogs } from '../services/audit/auditLog.ts';
import { anchorAuditChain } from '../services/audit/anchors.ts';
import { verifyAuditChain } from '../services/audit/verification.ts';
import { unwrap } from '../services/errors.ts';

builder.queryFields((t) => ({
  auditLogs: t.field({
    authScopes: { scope: 'audit:read' },
    type: AuditLogConnectionType,
    description: 'Newest first.',
    args: {
      filter: t.arg({ type: AuditLogFilterInput, required: false }),
      first: t.arg.int({ required: false }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const page = await listAuditLogs(ctx.services, requireActor(ctx).orgId, {
        filter: args.filter,
        first: pageSize(args.first),
        after: args.after,
      });
      return toPage(unwrap(page), (row) => String(row.seq));
    },
  }),
  verifyAuditChain: t.field({
    authScopes: { scope: 'audit:read' },
    type: AuditChainVerdictType,
    description: "Recomputes the organization's audit hash chain and reports the first row that does not match.",
    resolve: (_root, _args, ctx) => verifyAuditChain(ctx.services, requireActor(ctx).orgId),
  }),
}));

builder.mutationFields((t) => ({
  anchorAuditChain: t.field({
    authScopes: { scope: 'audit:read' },
    type: AuditAnchorType,
    nullable: true,
    description:
      "Signs the organization's audit chain head now, as the background jobs do every AUDIT_ANCHOR_INTERVAL_MS; " +
      'answers the anchor already made when the head has not moved. Null while the chain is empty.',
    resolve: (_root, _args, ctx) => anchorAuditChain(ctx.services, requireActor(ctx).orgId),
  }),
}));
