/** Imports every type and resolver module for its side effects and builds the schema once. */
import { printSchema } from 'graphql';
import { builder } from './builder.ts';
import './errors.ts';
import './seat.ts';
import './license.ts';
import './audit.ts';
import './identity.ts';
import './apiKey.ts';
import './webhook.ts';
import '../resolvers/seat.ts';
import '../resolvers/license.ts';
import '../resolvers/session.ts';
import '../resolvers/audit.ts';
import '../resolvers/identity.ts';
import '../resolvers/apiKey.ts';
import '../resolvers/webhook.ts';

export const schema = builder.toSchema({ sortSchema: true });

/** The SDL of the schema, printed by the same graphql module that built it. */
export const printSchemaSdl = () => printSchema(schema) + '\n';
