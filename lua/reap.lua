#!lua
--[[
  The sweeper's step for one license: remove leases that are past expiry and past the revive
  window, and announce the count if any lease expired since the previous reap (expiry itself
  changes the count without a write, so nothing was published at that instant).

  KEYS[1] lh:{lic}:leases   ZSET session id -> expiry ms
  KEYS[2] lh:{lic}:fp       HASH fingerprint -> session id
  KEYS[3] lh:{lic}:sessions HASH session id -> fingerprint
  KEYS[4] lh:{lic}:meta     HASH the license's limits and status; field reapedAt is kept here
  KEYS[5] lh:{lic}:overage  SET  session ids of overage leases
  ARGV[1] license id (names the count channel)
  ARGV[2..n] session ids that Postgres believes may have expired

  Reply: {now ms, used, max, then per session: id, state, expiry ms} where state is
         1 = removed now (ended at the expiry given), 0 = still live or revivable (expiry given),
         -1 = not held in Redis at all (expiry 0); or {-1} when the license is not loaded.
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local meta = redis.call('HMGET', KEYS[4], 'maxSeats', 'reviveMs', 'reapedAt')
if not meta[1] then return {-1} end
local reviveMs = tonumber(meta[2])
local reapedAt = tonumber(meta[3] or '0')

local expiredSinceLastReap = redis.call('ZCOUNT', KEYS[1], '(' .. reapedAt, now)
redis.call('HSET', KEYS[4], 'reapedAt', now)

local reply = {now, 0, tonumber(meta[1])}
for i = 2, #ARGV do
  local sessionId = ARGV[i]
  local expiry = redis.call('ZSCORE', KEYS[1], sessionId)
  if not expiry then
    table.insert(reply, sessionId); table.insert(reply, -1); table.insert(reply, 0)
  elseif tonumber(expiry) <= now - reviveMs then
    redis.call('ZREM', KEYS[1], sessionId)
    redis.call('SREM', KEYS[5], sessionId)
    local fingerprint = redis.call('HGET', KEYS[3], sessionId)
    redis.call('HDEL', KEYS[3], sessionId)
    if fingerprint and redis.call('HGET', KEYS[2], fingerprint) == sessionId then
      redis.call('HDEL', KEYS[2], fingerprint)
    end
    table.insert(reply, sessionId); table.insert(reply, 1); table.insert(reply, tonumber(expiry))
  else
    table.insert(reply, sessionId); table.insert(reply, 0); table.insert(reply, tonumber(expiry))
  end
end

local used = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
reply[2] = used
if expiredSinceLastReap > 0 then
  redis.call('PUBLISH', 'lh:seats:' .. ARGV[1], used .. ':' .. meta[1] .. ':' .. now)
end
return reply
