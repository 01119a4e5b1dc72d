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

  it('root fields need a credential; only the seat path, recordUsage, validateLicense and sign-in are open', () => {
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
        'Mutation.requestCertificate',
        'Mutation.recordUsage',
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
    acquire: '029af114fe36184dac8351c7ef25d1b941411d73',
    heartbeat: '0f800a089532704366eab408db1636673292e58c',
    release: '8cc791a5a03e0cc1331b8cc4f51feb5efbac0155',
    count: '5e6e04e6dcfd59fa6aaf8a97a355608d5c627dc1',
    reap: '641199243aae28e31c3a8e625b641f47f21bce59',
    load: '1eceb452e79079f234450e119e9154189dcfd32d',
    configure: '1312d49128a1a435556bbd340742c8219c0faf0a',
    rate_limit: '0034a3ef888d17966f2193a19cbe52262bbd3842',
    activate: '5ce754b297385e56db4ca6cf2a0417e036fbbc4a',
    record_usage: '03b6025f01e85daa7b068c494cc2490edac159e5',
    load_meters: 'd6dd01998014c9386dea12948f34fa7cc16b7fc7',
    configure_meters: '22bfd314fbc989ebe9acdf5ab002443d4c54489d',
  };

  it.each(Object.keys(SCRIPTS) as ScriptName[])('lua/%s.lua loads with #!lua and has its pinned SHA1', async (name) => {
    const source = readScript(name);
    expect(source.startsWith('#!lua\n')).toBe(true);
    expect(await redis.script('LOAD', source)).toBe(PINNED[name]);
  });
});
