/** Imports every type and resolver module for its side effects and builds the schema once. */
import { printSchema } from 'graphql';
import { builder } from '../schema/builder.ts';
import '../schema/errors.ts';
import '../schema/seat.ts';
import '../schema/meter.ts';
import '../schema/license.ts';
import '../schema/audit.ts';
import '../schema/identity.ts';
import '../schema/apiKey.ts';
import '../schema/webhook.ts';
import '../schema/machine.ts';
import '../schema/utilization.ts';
import '../schema/verification.ts';
import './seat.ts';
import './queue.ts';
import './license.ts';
import './meter.ts';
import './session.ts';
import './machine.ts';
import './audit.ts';
import './identity.ts';
import './apiKey.ts';
import './webhook.ts';
import './utilization.ts';
import './verification.ts';

export const schema = builder.toSchema({ sortSchema: true });

/** The SDL of the schema, printed by the same graphql module that built it. */
export const printSchemaSdl = () => printSchema(schema) + '\n';
