#!lua
--[[
  The sweeper's step for one license: remove leases that are past expiry and past the revive
  window, and announce the count if any seat expired or stopped lingering since the previous
  reap (expiry itself changes the count without a write, so nothing was published at that
  instant).

  KEYS    the license's seat keys (lib/seat_keys.lua); meta keeps the field reapedAt
  ARGV[1] license id (names the count channel)
  ARGV[2..n] session ids that Postgres believes may have expired: at most REAP_MAX are looked
            at, so one call's work stays bounded (stores/seats/redis.ts sends no more)

  Reply: {now ms, used, max, then per session: id, state, expiry ms} where state is
         1 = removed now (ended at the expiry given), 0 = still live or revivable (expiry given),
         -1 = not held in Redis at all (expiry 0); or {-1} when the license is not loaded.
]]
--@include seat_keys
--@include holders
--@include queue
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local meta = redis.call('HMGET', K.meta, 'maxSeats', 'reviveMs', 'reapedAt', 'leasingStrategy', 'seatBound', 'claimMs')
if not meta[1] then return {-1} end
local reviveMs = tonumber(meta[2])
local reapedAt = tonumber(meta[3] or '0')
local strategy = meta[4] or 'PER_MACHINE'

local expiredSinceLastReap = redis.call('ZCOUNT', seatSet(K, strategy), '(' .. reapedAt, now)
  + redis.call('ZCOUNT', K.linger, '(' .. reapedAt, now) + redis.call('ZCOUNT', K.ready, '(' .. reapedAt, now)
redis.call('HSET', K.meta, 'reapedAt', now)
dropLapsedLinger(K, now)

local REAP_MAX = 200
local reply = {now, 0, tonumber(meta[1])}
for i = 2, math.min(#ARGV, REAP_MAX + 1) do
  local sessionId = ARGV[i]
  local expiry = redis.call('ZSCORE', K.leases, sessionId)
  if not expiry then
    table.insert(reply, sessionId); table.insert(reply, -1); table.insert(reply, 0)
  elseif tonumber(expiry) <= now - reviveMs then
    dropSession(K, sessionId, strategy)
    table.insert(reply, sessionId); table.insert(reply, 1); table.insert(reply, tonumber(expiry))
  else
    table.insert(reply, sessionId); table.insert(reply, 0); table.insert(reply, tonumber(expiry))
  end
end

-- Seats freed by expiry go to the first in line.
local used = settleQueue(K, ARGV[1], strategy, tonumber(meta[5] or meta[1]), tonumber(meta[6] or '0'), now)
reply[2] = used
if expiredSinceLastReap > 0 then
  redis.call('PUBLISH', 'lh:seats:' .. ARGV[1], used .. ':' .. meta[1] .. ':' .. now)
end
return reply
