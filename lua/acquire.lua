#!lua
--[[
  Acquire a seat on one license, atomically.

  A fingerprint that already holds a live lease renews it (same session, no second seat).
  Otherwise a new machine must fit under maxMachines and a new lease under the license's seat
  bound: maxSeats, or more under an overage strategy. A lease granted while maxSeats are
  already taken is an overage lease, and stays marked as one for its life.
  A lease is live while its score (expiry, ms) is in the future, so an expired lease stops
  counting at its expiry without anyone removing it; the sweeper's reap removes it later.

  KEYS[1] lh:{lic}:leases   ZSET session id -> expiry ms
  KEYS[2] lh:{lic}:machines SET  fingerprints ever activated
  KEYS[3] lh:{lic}:fp       HASH fingerprint -> session id
  KEYS[4] lh:{lic}:sessions HASH session id -> fingerprint
  KEYS[5] lh:{lic}:meta     HASH the license's limits and status (see load.lua)
  KEYS[6] lh:{lic}:rate     HASH the license's rate-limit bucket (see lib/token_bucket.lua)
  KEYS[7] lh:{lic}:overage  SET  session ids of overage leases
  ARGV[1] license id (names the count channel)
  ARGV[2] session id to use if a new lease is granted
  ARGV[3] fingerprint
  ARGV[4] bucket capacity, or '' to take no token (the caller is limited elsewhere)
  ARGV[5] bucket refill per second

  Reply: {rate, result}. rate is the token bucket's answer ({} when ARGV[4] is ''); a loaded
  license takes its token before anything else, and when none is left result is {-9} and
  nothing changes. result, granted: {renewed 0|1, session id, expiry ms, used, max,
                   new machine 0|1, now ms, tier, features JSON, license expiry ms or -1}
  result, refused: {code, used, max, now ms} with code -2 suspended, -3 revoked, -4 expired,
                  -5 no seats, -6 too many machines; {-1} when the license is not loaded.
]]
--@include token_bucket
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local meta = redis.call('HMGET', KEYS[5], 'status', 'maxSeats', 'maxMachines', 'leaseMs', 'expiresAt', 'tier', 'features', 'seatBound')
if not meta[1] then return {{}, {-1}} end
local rate = takeSeatToken(KEYS[6], ARGV[4], ARGV[5], now)
if rate[1] == 0 then return {rate, {-9}} end
local maxSeats = tonumber(meta[2])
local maxMachines = tonumber(meta[3])
local leaseMs = tonumber(meta[4])
local licenseExpiresAt = tonumber(meta[5])
-- A license loaded before overage existed has no seatBound: its bound is maxSeats.
local seatBound = tonumber(meta[8] or meta[2])

local used = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
if meta[1] == 'SUSPENDED' then return {rate, {-2, used, maxSeats, now}} end
if meta[1] == 'REVOKED' then return {rate, {-3, used, maxSeats, now}} end
if licenseExpiresAt >= 0 and licenseExpiresAt <= now then return {rate, {-4, used, maxSeats, now}} end

local fingerprint = ARGV[3]
local expiry = now + leaseMs
local held = redis.call('HGET', KEYS[3], fingerprint)
if held then
  local heldExpiry = redis.call('ZSCORE', KEYS[1], held)
  if heldExpiry and tonumber(heldExpiry) > now then
    redis.call('ZADD', KEYS[1], 'XX', expiry, held)
    return {rate, {1, held, expiry, used, maxSeats, 0, now, meta[6], meta[7], licenseExpiresAt, redis.call('SISMEMBER', KEYS[7], held)}}
  end
end

local newMachine = redis.call('SISMEMBER', KEYS[2], fingerprint) == 0
if newMachine and maxMachines >= 0 and redis.call('SCARD', KEYS[2]) >= maxMachines then
  return {rate, {-6, used, maxSeats, now}}
end
if seatBound >= 0 and used >= seatBound then return {rate, {-5, used, maxSeats, now}} end

local sessionId = ARGV[2]
local overage = used >= maxSeats
if overage then redis.call('SADD', KEYS[7], sessionId) end
if newMachine then redis.call('SADD', KEYS[2], fingerprint) end
redis.call('ZADD', KEYS[1], expiry, sessionId)
redis.call('HSET', KEYS[3], fingerprint, sessionId)
redis.call('HSET', KEYS[4], sessionId, fingerprint)
used = used + 1
redis.call('PUBLISH', 'lh:seats:' .. ARGV[1], used .. ':' .. maxSeats .. ':' .. now)
return {rate, {0, sessionId, expiry, used, maxSeats, newMachine and 1 or 0, now, meta[6], meta[7], licenseExpiresAt, overage and 1 or 0}}
