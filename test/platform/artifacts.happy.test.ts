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

  it('root fields need a credential; only the seat path (the queue and borrowing included), recordUsage, validateLicense and sign-in are open', () => {
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
        'Mutation.borrowSeat',
        'Mutation.returnSeat',
        'Mutation.heartbeatQueueTicket',
        'Mutation.leaveQueue',
        'Mutation.claimQueuedSeat',
        'Subscription.seatQueueUpdated',
        'Mutation.requestCertificate',
        'Mutation.recordUsage',
        'Mutation.validateLicense',
        'Mutation.login',
        'Mutation.signInWithIdToken',
        'Mutation.signInWithAuthorizationCode',
        'Query.signInProviders',
        'Mutation.refreshToken',
        'Mutation.logout',
      ].sort(),
    );
  });

  const redis = new Redis(REDIS_URL);
  afterAll(() => redis.disconnect());

  // A change to a script (or to a lua/lib file it includes) changes its SHA1: this pin makes every such change a visible diff.
  const PINNED: Record<ScriptName, string> = {
    acquire: 'ccab21517ebb2c964ae487c3c97a4830565a9929',
    heartbeat: '84ee47bc2208192265e1b7d7bb6e9d685354b7ba',
    release: '692c2e31bf31705c984eb0ed281c33491287509f',
    count: '08e6c6b5c638f3578e40404f6b67cfc7be09bd01',
    reap: '4a71e9156513ffa2faf14606d9b7615ba5c21eeb',
    load: 'c56f2f2d5a8b1246205f2213c12062db48f13c3c',
    configure: '04bf8d79c69966fd74ac7578ab86e6f4e7822b3c',
    ticket: '2c2db5d559a0b39aa96cfd73d9035baee3ee65c3',
    activate: 'df2559e76b9e3e3456ade2084a2b4150a9fb5698',
    deactivate: '52c6e74550d4fa83575b4e372c23d5029e05ff15',
    rate_limit: '0034a3ef888d17966f2193a19cbe52262bbd3842',
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
