#!lua
--[[
  End a lease. Idempotent: releasing a lease that is gone changes nothing.

  Also the undo of an acquire whose Postgres write failed: then ARGV[3] is 1 and a machine
  that this acquire activated for the first time is forgotten again.

  A client's release (ARGV[6] is 1) of a live lease that frees a seat lets the seat linger for
  the license's lingerMs: still in use, and resumed by the same holder's next acquire. A seat
  that does free is set aside for the first ticket in line (lib/queue.lua) in the same step.

  KEYS    the license's seat keys (lib/seat_keys.lua)
  ARGV[1] license id (names the count channel)
  ARGV[2] session id
  ARGV[3] 1 to forget the session's machine as well, else 0
  ARGV[4] bucket capacity, or '' to take no token (the caller is limited elsewhere)
  ARGV[5] bucket refill per second
  ARGV[6] 1 to let the freed seat linger, else 0 (a revoke, an undo)

  Reply: {rate, result}, rate as in acquire.lua ({-9}: no token left, nothing changed).
  result: {state, used, max, now ms, lease expiry ms or -1}: state 1 = a live lease was
          released, 2 = the lease had already expired (at the expiry given), 0 = no such
          lease; {-1} when the license is not loaded.
]]
--@include seat_keys
--@include token_bucket
--@include holders
--@include queue
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local meta = redis.call('HMGET', K.meta, 'maxSeats', 'leasingStrategy', 'lingerMs', 'seatBound', 'claimMs')
local maxSeats = meta[1]
if not maxSeats then return {{}, {-1}} end
local rate = takeSeatToken(K.rate, ARGV[4], ARGV[5], now)
if rate[1] == 0 then return {rate, {-9}} end
local strategy = meta[2] or 'PER_MACHINE'

local sessionId = ARGV[2]
local leaseExpiry = redis.call('ZSCORE', K.leases, sessionId)
local state = 0
if leaseExpiry then state = tonumber(leaseExpiry) > now and 1 or 2 end
dropLapsedLinger(K, now)
local usedBefore = seatsUsed(K, strategy, now)
local fingerprint, holder = dropSession(K, sessionId, strategy)
if fingerprint and ARGV[3] == '1' then redis.call('SREM', K.machines, fingerprint) end

local used = seatsUsed(K, strategy, now)
local lingerMs = tonumber(meta[3] or '0')
if ARGV[6] == '1' and state == 1 and lingerMs > 0 and used < usedBefore then
  redis.call('ZADD', K.linger, now + lingerMs, lingerOf(strategy, holder, sessionId))
end
-- A freed seat goes to the first in line at once.
used = settleQueue(K, ARGV[1], strategy, tonumber(meta[4] or maxSeats), tonumber(meta[5] or '0'), now)
if used ~= usedBefore then
  redis.call('PUBLISH', 'lh:seats:' .. ARGV[1], used .. ':' .. maxSeats .. ':' .. now)
end
return {rate, {state, used, tonumber(maxSeats), now, leaseExpiry and tonumber(leaseExpiry) or -1}}
