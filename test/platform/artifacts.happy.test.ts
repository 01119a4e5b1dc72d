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
    acquire: 'e95d6dcd3c9e9087df2ffb1f885cd6ef0aa608ab',
    heartbeat: 'e6eaacec73623c5fa70e661478fc826cc35302d4',
    release: '51a61358691d7f8e04619d273f8b4110689ad9d3',
    count: '3e53ea986ad17f18380be35a9cccbd93757a780a',
    reap: '897065da75c966fb2cec879db3bce0d50805fdcf',
    load: 'ce7217269ea52db9a3ef2d8e9496f0190437fe3b',
    configure: '80717bc16fec83059b4443bf0233e9fe141ced03',
    ticket: '9a29627a5491a9b7b9b64dcbe2ddf0a422162f96',
    rate_limit: '0034a3ef888d17966f2193a19cbe52262bbd3842',
  };

  it.each(Object.keys(SCRIPTS) as ScriptName[])('lua/%s.lua loads with #!lua and has its pinned SHA1', async (name) => {
    const source = readScript(name);
    expect(source.startsWith('#!lua\n')).toBe(true);
    expect(await redis.script('LOAD', source)).toBe(PINNED[name]);
  });
});
