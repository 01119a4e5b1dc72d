/** Reviewed artifacts stay in step with the code: the printed schema and the Lua scripts' hashes. */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { SCRIPTS, readScript, type ScriptName } from '../../src/stores/redisConnection.ts';
import { printSchemaSdl, schema } from '../../src/resolvers/index.ts';
import { REDIS_URL } from '../support/harness.ts';

describe('artifacts', () => {
  it('schema.graphql is the printed schema (run `npm run schema:print` after an API change)', () => {
    expect(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8')).toBe(printSchemaSdl());
  });

  it('root fields need a credential; only the seat path, validateLicense and sign-in are open', () => {
    const roots = [schema.getQueryType()!, schema.getMutationType()!, schema.getSubscriptionType()!];
    const optionsOf = (node: { extensions: unknown }) =>
      (node.extensions as { pothosOptions: { authScopes?: unknown; skipTypeScopes?: boolean } }).pothosOptions;
    expect(roots.map((type) => optionsOf(type).authScopes)).toEqual(roots.map(() => ({ authenticated: true })));
    const open = roots.flatMap((type) =>
      Object.values(type.getFields())
        .filter((field) => optionsOf(field).skipTypeScopes)
        .map((field) => `${type.name}.${field.name}`),
    );
    expect(open.sort()).toEqual(
      [
        'Mutation.acquireSeat',
        'Mutation.heartbeatSeat',
        'Mutation.releaseSeat',
        'Mutation.validateLicense',
        'Mutation.login',
        'Mutation.refreshToken',
        'Mutation.logout',
      ].sort(),
    );
  });

  const redis = new Redis(REDIS_URL);
  afterAll(() => redis.disconnect());

  // A change to a script (or to a lua/lib file it includes) changes its SHA1: this pin makes every such change a visible diff.
  const PINNED: Record<ScriptName, string> = {
    acquire: 'c751ccb797978d0d47bc72a8515c93528d08402e',
    heartbeat: '0b102ba1ac763b17a2847312a34f2d9e49a8e6bf',
    release: 'd0e8a21ca97eb82a16bd256cf71e085fc6c55cc5',
    count: '450b6ab7b1f2649f66e1ca9937c4316913050e29',
    reap: '263b4812e741ff1992fd4ba4f462e7096281f2ba',
    load: '8b80da7e5672f2a1fb07ae2b1001cf1cac320a3a',
    configure: 'a068e814eb598d4c1683a750d7808ad091473000',
    rate_limit: '0034a3ef888d17966f2193a19cbe52262bbd3842',
  };

  it.each(Object.keys(SCRIPTS) as ScriptName[])('lua/%s.lua loads with #!lua and has its pinned SHA1', async (name) => {
    const source = readScript(name);
    expect(source.startsWith('#!lua\n')).toBe(true);
    expect(await redis.script('LOAD', source)).toBe(PINNED[name]);
  });
});
