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

  it('root fields need a credential; only the seat path (the queue included), recordUsage, validateLicense and sign-in are open', () => {
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
        'Mutation.heartbeatQueueTicket',
        'Mutation.leaveQueue',
        'Mutation.claimQueuedSeat',
        'Subscription.seatQueueUpdated',
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
    acquire: '86f3b26ede2fb83bd7579cb3b8b3d64cee763e25',
    heartbeat: 'e6eaacec73623c5fa70e661478fc826cc35302d4',
    release: '538e012bad2ba7252729225812bd3ead04e2cacb',
    count: '3e53ea986ad17f18380be35a9cccbd93757a780a',
    reap: 'bd1bd8a7e8fb523c72d110fa7f225c99498821c2',
    load: 'ce7217269ea52db9a3ef2d8e9496f0190437fe3b',
    configure: '79abcaf008f77b21ec7205af4e6af6158c7756f9',
    ticket: 'bae65cc26333370416760b54f7b0d388a0305089',
    rate_limit: '0034a3ef888d17966f2193a19cbe52262bbd3842',
    activate: '641eb88dfc8f2722f25cf12ea125597dae2d3045',
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
