/**
 * The "bare" floor: node:http straight to the heartbeat Lua script, nothing else. It is what
 * one Node process can do per request with no framework at all, so every other lane is
 * reported as a fraction of it. Same connection setup and seat store call as the app
 * (connectRedis + the Redis seat store's heartbeat), so the Redis side is identical.
 *
 * POST any path with {"licenseId","sessionId"} → {"expiresAt": ms}. GET answers 200 (readiness).
 * Env: PORT, REDIS_URL.
 */
import { createServer } from 'node:http';
import { connectRedis } from '../../src/stores/redisConnection.ts';
import { createRedisSeatStore } from '../../src/stores/seats/redis.ts';
import { BENCH_LICENSE_BUCKET } from './licenseLimit.ts';

const seats = createRedisSeatStore(await connectRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'));

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    res.end('ok');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', async () => {
    try {
      const { licenseId, sessionId } = JSON.parse(Buffer.concat(chunks).toString()) as { licenseId: string; sessionId: string };
      const outcome = await seats.heartbeat(licenseId, sessionId, BENCH_LICENSE_BUCKET);
      if (outcome.kind !== 'renewed') throw new Error(`heartbeat ${outcome.kind}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ expiresAt: outcome.expiresAtMs }));
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
});

server.listen(Number(process.env.PORT));
process.once('SIGTERM', () => process.exit(0));
