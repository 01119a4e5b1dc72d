#!lua
--[[
  Apply a license change (limits, status, expiry, tier, features) to the seat path at once.
  Suspending or revoking also ends every lease in the same step, so no seat outlives it.
  A license that is not loaded is left alone: it is loaded from Postgres, already changed,
  when it is next used.

  KEYS[1] lh:{lic}:leases   ZSET session id -> expiry ms
  KEYS[2] lh:{lic}:fp       HASH fingerprint -> session id
  KEYS[3] lh:{lic}:sessions HASH session id -> fingerprint
  KEYS[4] lh:{lic}:meta     HASH the license's limits and status
  KEYS[5] lh:{lic}:overage  SET  session ids of overage leases
  ARGV[1] license id (names the count channel)
  ARGV[2..10] status, maxSeats, maxMachines (-1 = unlimited), leaseMs, reviveMs,
              expiresAt ms (-1 = never), tier, features (JSON array),
              seatBound (the most leases the overage strategy allows; -1 = unlimited)

  Reply: {1, used, max, now ms, ended session ids...} when applied, {0} when not loaded.
]]
local previousMax = redis.call('HGET', KEYS[4], 'maxSeats')
if not previousMax then return {0} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local usedBefore = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
redis.call('HSET', KEYS[4], 'status', ARGV[2], 'maxSeats', ARGV[3], 'maxMachines', ARGV[4], 'leaseMs', ARGV[5],
  'reviveMs', ARGV[6], 'expiresAt', ARGV[7], 'tier', ARGV[8], 'features', ARGV[9], 'seatBound', ARGV[10])

local reply = {1, 0, tonumber(ARGV[3]), now}
if ARGV[2] ~= 'ACTIVE' then
  local ended = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
  for _, sessionId in ipairs(ended) do table.insert(reply, sessionId) end
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[5])
end

local used = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
reply[2] = used
if previousMax ~= ARGV[3] or used ~= usedBefore then
  redis.call('PUBLISH', 'lh:seats:' .. ARGV[1], used .. ':' .. ARGV[3] .. ':' .. now)
end
return reply
