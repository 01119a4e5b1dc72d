#!lua
--[[
  Rebuild one license's seat state from Postgres after Redis lost it (a restart without
  persistence, a flush, a failover to an empty replica). Does nothing if the license is
  already loaded, so any number of instances may race to load it.

  KEYS[1] lh:{lic}:leases   ZSET session id -> expiry ms
  KEYS[2] lh:{lic}:machines SET  fingerprints ever activated
  KEYS[3] lh:{lic}:fp       HASH fingerprint -> session id
  KEYS[4] lh:{lic}:sessions HASH session id -> fingerprint
  KEYS[5] lh:{lic}:meta     HASH the license's limits and status
  KEYS[6] lh:{lic}:overage  SET  session ids of overage leases
  ARGV[1] license id (names the count channel)
  ARGV[2..10] status, maxSeats, maxMachines (-1 = unlimited), leaseMs, reviveMs,
              expiresAt ms (-1 = never), tier, features (JSON array), seatBound (-1 = unlimited)
  ARGV[11] n, the number of open sessions that follow
  ARGV[12..11+4n] per session: id, fingerprint, expiry ms, overage 0|1
  ARGV[12+4n..] activated fingerprints

  Reply: {1, used, max, now ms} when loaded, {0} when it already was.
]]
if redis.call('EXISTS', KEYS[5]) == 1 then return {0} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local sessionCount = tonumber(ARGV[11])
for i = 0, sessionCount - 1 do
  local base = 12 + i * 4
  local sessionId, fingerprint, expiry = ARGV[base], ARGV[base + 1], ARGV[base + 2]
  redis.call('ZADD', KEYS[1], expiry, sessionId)
  redis.call('HSET', KEYS[4], sessionId, fingerprint)
  redis.call('HSET', KEYS[3], fingerprint, sessionId)
  if ARGV[base + 3] == '1' then redis.call('SADD', KEYS[6], sessionId) end
end
for i = 12 + sessionCount * 4, #ARGV do
  redis.call('SADD', KEYS[2], ARGV[i])
end
redis.call('HSET', KEYS[5], 'status', ARGV[2], 'maxSeats', ARGV[3], 'maxMachines', ARGV[4], 'leaseMs', ARGV[5],
  'reviveMs', ARGV[6], 'expiresAt', ARGV[7], 'tier', ARGV[8], 'features', ARGV[9], 'seatBound', ARGV[10], 'reapedAt', now)

local used = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
redis.call('PUBLISH', 'lh:seats:' .. ARGV[1], used .. ':' .. ARGV[3] .. ':' .. now)
return {1, used, tonumber(ARGV[3]), now}
