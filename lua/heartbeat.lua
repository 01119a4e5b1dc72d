#!lua
--[[
  Extend a live lease by the license's lease time.

  A lease already past its expiry is revived (same session) only inside the license's revive
  window, only while its fingerprint has not moved to a newer session, and only if a seat is
  free under the license's seat bound (see acquire.lua); a revival changes the count and is
  published, and a revival past maxSeats marks the lease as overage.

  KEYS[1] lh:{lic}:leases   ZSET session id -> expiry ms
  KEYS[2] lh:{lic}:fp       HASH fingerprint -> session id
  KEYS[3] lh:{lic}:sessions HASH session id -> fingerprint
  KEYS[4] lh:{lic}:meta     HASH the license's limits and status
  KEYS[5] lh:{lic}:rate     HASH the license's rate-limit bucket (see lib/token_bucket.lua)
  KEYS[6] lh:{lic}:overage  SET  session ids of overage leases
  ARGV[1] license id (names the count channel)
  ARGV[2] session id
  ARGV[3] bucket capacity, or '' to take no token (the caller is limited elsewhere)
  ARGV[4] bucket refill per second

  Reply: {rate, result}, rate as in acquire.lua ({-9}: no token left, nothing changed).
  result, renewed: {revived 0|1, expiry ms, now ms, fingerprint, tier, features JSON,
                    license expiry ms or -1, overage 0|1}
  result, refused: {-1} not loaded, {-2} suspended, {-3} revoked, {-4} license expired,
                   {-7} no such lease here, {-8} lease expired and not revivable
]]
--@include token_bucket
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local meta = redis.call('HMGET', KEYS[4], 'status', 'maxSeats', 'leaseMs', 'reviveMs', 'expiresAt', 'tier', 'features', 'seatBound')
if not meta[1] then return {{}, {-1}} end
local rate = takeSeatToken(KEYS[5], ARGV[3], ARGV[4], now)
if rate[1] == 0 then return {rate, {-9}} end
if meta[1] == 'SUSPENDED' then return {rate, {-2}} end
if meta[1] == 'REVOKED' then return {rate, {-3}} end
local licenseExpiresAt = tonumber(meta[5])
if licenseExpiresAt >= 0 and licenseExpiresAt <= now then return {rate, {-4}} end

local sessionId = ARGV[2]
local leaseExpiry = redis.call('ZSCORE', KEYS[1], sessionId)
if not leaseExpiry then return {rate, {-7}} end
local fingerprint = redis.call('HGET', KEYS[3], sessionId)

local revived = 0
if tonumber(leaseExpiry) <= now then
  if now - tonumber(leaseExpiry) > tonumber(meta[4]) then return {rate, {-8}} end
  if not fingerprint or redis.call('HGET', KEYS[2], fingerprint) ~= sessionId then return {rate, {-8}} end
  local used = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
  local seatBound = tonumber(meta[8] or meta[2])
  if seatBound >= 0 and used >= seatBound then return {rate, {-8}} end
  if used >= tonumber(meta[2]) then redis.call('SADD', KEYS[6], sessionId) end
  revived = 1
  redis.call('PUBLISH', 'lh:seats:' .. ARGV[1], (used + 1) .. ':' .. meta[2] .. ':' .. now)
end

local expiry = now + tonumber(meta[3])
redis.call('ZADD', KEYS[1], 'XX', expiry, sessionId)
return {rate, {revived, expiry, now, fingerprint or '', meta[6], meta[7], licenseExpiresAt, redis.call('SISMEMBER', KEYS[6], sessionId)}}
