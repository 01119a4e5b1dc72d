#!lua
--[[
  End a lease. Idempotent: releasing a lease that is gone changes nothing.

  Also the undo of an acquire whose Postgres write failed: then ARGV[3] is 1 and a machine
  that this acquire activated for the first time is forgotten again.

  KEYS[1] lh:{lic}:leases   ZSET session id -> expiry ms
  KEYS[2] lh:{lic}:machines SET  fingerprints ever activated
  KEYS[3] lh:{lic}:fp       HASH fingerprint -> session id
  KEYS[4] lh:{lic}:sessions HASH session id -> fingerprint
  KEYS[5] lh:{lic}:meta     HASH the license's limits and status
  KEYS[6] lh:{lic}:rate     HASH the license's rate-limit bucket (see lib/token_bucket.lua)
  KEYS[7] lh:{lic}:overage  SET  session ids of overage leases
  ARGV[1] license id (names the count channel)
  ARGV[2] session id
  ARGV[3] 1 to forget the session's machine as well, else 0
  ARGV[4] bucket capacity, or '' to take no token (the caller is limited elsewhere)
  ARGV[5] bucket refill per second

  Reply: {rate, result}, rate as in acquire.lua ({-9}: no token left, nothing changed).
  result: {state, used, max, now ms, lease expiry ms or -1}: state 1 = a live lease was
          released, 2 = the lease had already expired (at the expiry given), 0 = no such
          lease; {-1} when the license is not loaded.
]]
--@include token_bucket
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local maxSeats = redis.call('HGET', KEYS[5], 'maxSeats')
if not maxSeats then return {{}, {-1}} end
local rate = takeSeatToken(KEYS[6], ARGV[4], ARGV[5], now)
if rate[1] == 0 then return {rate, {-9}} end

local sessionId = ARGV[2]
local leaseExpiry = redis.call('ZSCORE', KEYS[1], sessionId)
local state = 0
if leaseExpiry then
  state = tonumber(leaseExpiry) > now and 1 or 2
  redis.call('ZREM', KEYS[1], sessionId)
  redis.call('SREM', KEYS[7], sessionId)
end
local fingerprint = redis.call('HGET', KEYS[4], sessionId)
if fingerprint then
  redis.call('HDEL', KEYS[4], sessionId)
  if redis.call('HGET', KEYS[3], fingerprint) == sessionId then redis.call('HDEL', KEYS[3], fingerprint) end
  if ARGV[3] == '1' then redis.call('SREM', KEYS[2], fingerprint) end
end

local used = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
if state == 1 then
  redis.call('PUBLISH', 'lh:seats:' .. ARGV[1], used .. ':' .. maxSeats .. ':' .. now)
end
return {rate, {state, used, tonumber(maxSeats), now, leaseExpiry and tonumber(leaseExpiry) or -1}}
