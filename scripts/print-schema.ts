/** Writes the SDL of the built schema to schema.graphql, the reviewed artifact of the API. */
import { writeFileSync } from 'node:fs';
import { printSchemaSdl } from '../src/resolvers/index.ts';

writeFileSync(new URL('../schema.graphql', import.meta.url), printSchemaSdl());
