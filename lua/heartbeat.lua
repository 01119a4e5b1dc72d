#!lua
--[[
  Extend a live lease by the license's lease time. A borrowed lease needs no heartbeat and is
  left to its borrow's end (the reply gives that expiry).

  A lease already past its expiry is revived (same session) only inside the license's revive
  window, only while its holder has not moved to a newer session, and only if a seat is free
  under the license's seat bound (see acquire.lua), unless under PER_USER its user's seat is
  still live; a revival that takes a seat changes the count and is published, and one past
  maxSeats marks the lease as overage.

  KEYS    the license's seat keys (lib/seat_keys.lua)
  ARGV[1] license id (names the count channel)
  ARGV[2] session id
  ARGV[3] bucket capacity, or '' to take no token (the caller is limited elsewhere)
  ARGV[4] bucket refill per second

  Reply: {rate, result}, rate as in acquire.lua ({-9}: no token left, nothing changed).
  result, renewed: {revived 0|1, expiry ms, now ms, fingerprint, tier, features JSON,
                    license expiry ms or -1, overage 0|1, borrowed 0|1}
  result, refused: {-1} not loaded, {-2} suspended, {-3} revoked, {-4} license expired,
                   {-7} no such lease here, {-8} lease expired and not revivable
]]
--@include seat_keys
--@include token_bucket
--@include holders
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local meta = redis.call('HMGET', K.meta, 'status', 'maxSeats', 'leaseMs', 'reviveMs', 'expiresAt', 'tier', 'features', 'seatBound',
  'leasingStrategy')
if not meta[1] then return {{}, {-1}} end
local rate = takeSeatToken(K.rate, ARGV[3], ARGV[4], now)
if rate[1] == 0 then return {rate, {-9}} end
if meta[1] == 'SUSPENDED' then return {rate, {-2}} end
if meta[1] == 'REVOKED' then return {rate, {-3}} end
local licenseExpiresAt = tonumber(meta[5])
if licenseExpiresAt >= 0 and licenseExpiresAt <= now then return {rate, {-4}} end
local strategy = meta[9] or 'PER_MACHINE'

local sessionId = ARGV[2]
local leaseExpiry = redis.call('ZSCORE', K.leases, sessionId)
if not leaseExpiry then return {rate, {-7}} end
local fingerprint = redis.call('HGET', K.sessions, sessionId)

local function renewed(revived, expiry, borrowed)
  return {rate, {revived, expiry, now, fingerprint or '', meta[6], meta[7], licenseExpiresAt,
    redis.call('SISMEMBER', K.overage, sessionId), borrowed}}
end

local borrowedUntil = redis.call('ZSCORE', K.borrowed, sessionId)
if borrowedUntil and tonumber(borrowedUntil) > now then return renewed(0, tonumber(borrowedUntil), 1) end

local holder = holderOfSession(K, sessionId)
local userSeat = strategy == 'PER_USER' and userSeatOf(holder, sessionId)

local revived = 0
if tonumber(leaseExpiry) <= now then
  if now - tonumber(leaseExpiry) > tonumber(meta[4]) then return {rate, {-8}} end
  if not holder or redis.call('HGET', K.fp, holder) ~= sessionId then return {rate, {-8}} end
  local seatExpiry = userSeat and redis.call('ZSCORE', K.users, userSeat)
  if not (seatExpiry and tonumber(seatExpiry) > now) then
    local used = seatsUsed(K, strategy, now)
    local seatBound = tonumber(meta[8] or meta[2])
    if seatBound >= 0 and used >= seatBound then return {rate, {-8}} end
    if used >= tonumber(meta[2]) then redis.call('SADD', K.overage, sessionId) end
    redis.call('PUBLISH', 'lh:seats:' .. ARGV[1], (used + 1) .. ':' .. meta[2] .. ':' .. now)
  end
  revived = 1
end

local expiry = now + tonumber(meta[3])
redis.call('ZADD', K.leases, 'XX', expiry, sessionId)
if userSeat then redis.call('ZADD', K.users, 'GT', expiry, userSeat) end
return renewed(revived, expiry, 0)
