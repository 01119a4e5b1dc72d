#!lua
--[[
  Deactivate a machine of one license, atomically: it stops counting against maxMachines, so
  another machine may take its place.

  A machine that a live lease holds is refused unless ARGV[3] is 1, which ends those leases in
  the same step (their seats free, and go to the first in line). Leases of the machine that
  expired but could still be revived by a heartbeat are dropped either way: a deactivated
  machine keeps nothing. The work is bounded by the machine's own sessions (K.onMachine).

  KEYS    the license's seat keys (lib/seat_keys.lua)
  ARGV[1] license id (names the count channel)
  ARGV[2] fingerprint
  ARGV[3] 1 to end the machine's live leases, else 0

  Reply: {0, used, max, now ms, ended session ids...} when deactivated (also when the machine
         was not active: deactivating is idempotent); {-15, live leases} when live leases hold
         the machine and ARGV[3] is 0; {-1} when the license is not loaded.
]]
--@include seat_keys
--@include holders
--@include queue
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local meta = redis.call('HMGET', K.meta, 'maxSeats', 'leasingStrategy', 'seatBound', 'claimMs')
local maxSeats = meta[1]
if not maxSeats then return {-1} end
local strategy = meta[2] or 'PER_MACHINE'
local fingerprint = ARGV[2]

local sessions = sessionsUnder(K.onMachine, fingerprint .. '\0')
local live = {}
for _, sessionId in ipairs(sessions) do
  local expiry = redis.call('ZSCORE', K.leases, sessionId)
  if expiry and tonumber(expiry) > now then live[#live + 1] = sessionId end
end
if #live > 0 and ARGV[3] ~= '1' then return {-15, #live} end

dropLapsedLinger(K, now)
local usedBefore = seatsUsed(K, strategy, now)
for _, sessionId in ipairs(sessions) do dropSession(K, sessionId, strategy) end
-- A seat the machine released and still lingers for it is given up too (per machine, its
-- holder is the fingerprint; a process's lingering seat lapses on its own within lingerMs).
redis.call('ZREM', K.linger, fingerprint)
redis.call('SREM', K.machines, fingerprint)

local used = settleQueue(K, ARGV[1], strategy, tonumber(meta[3] or maxSeats), tonumber(meta[4] or '0'), now)
if used ~= usedBefore then
  redis.call('PUBLISH', 'lh:seats:' .. ARGV[1], used .. ':' .. maxSeats .. ':' .. now)
end
local reply = {0, used, tonumber(maxSeats), now}
for _, sessionId in ipairs(live) do reply[#reply + 1] = sessionId end
return reply
