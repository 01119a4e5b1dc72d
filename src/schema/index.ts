/** Imports every type and resolver module for its side effects and builds the schema once. */
import { builder } from './builder.ts';
import './errors.ts';
import './seat.ts';
import './license.ts';
import '../resolvers/seat.ts';
import '../resolvers/license.ts';

export const schema = builder.toSchema({ sortSchema: true });
