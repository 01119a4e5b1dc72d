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
    acquire: '2b8264438da8fb338144c8003e3f7820c2c94731',
    heartbeat: '41095cab4bab46b7e871fb6282b0c7ac67b8e2e3',
    release: '186c9384fbc76b48da0e28d836335028d262e05e',
    count: '42d5715dd17af034c8b1e2da01a72130e9a978d7',
    reap: 'fcc3bb77958aea5d372b9f67b26ab46d3be0428e',
    load: '277e6696604bc6a46ec9854544bf4c8070d1b8bb',
    configure: 'add202821bd954a49007da6a285079c7ba348c4b',
    rate_limit: '0034a3ef888d17966f2193a19cbe52262bbd3842',
  };

  it.each(Object.keys(SCRIPTS) as ScriptName[])('lua/%s.lua loads with #!lua and has its pinned SHA1', async (name) => {
    const source = readScript(name);
    expect(source.startsWith('#!lua\n')).toBe(true);
    expect(await redis.script('LOAD', source)).toBe(PINNED[name]);
  });
});
