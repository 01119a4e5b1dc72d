#!lua
--[[
  Apply a license change (limits, status, expiry, tier, features, seat policies) to the seat
  path at once. Suspending or revoking also ends every lease in the same step, so no seat
  outlives it: the lease keys are unlinked (freed in the background), so the step costs the
  same at any license size, and Postgres, not this reply, names the sessions that ended. A license that turns PER_USER gets its user seats built from its live leases
  (a lease held by no user is a seat of its own); one that leaves PER_USER drops them. Seats
  that a raised limit frees go to the first in line (lib/queue.lua).
  A license that is not loaded is left alone: it is loaded from Postgres, already changed,
  when it is next used.

  KEYS    the license's seat keys (lib/seat_keys.lua)
  ARGV[1] license id (names the count channel)
  ARGV[2..] the license's terms (lib/terms.lua)

  Reply: {1, used, max, now ms} when applied, {0} when not loaded.
]]
--@include seat_keys
--@include holders
--@include queue
--@include terms
local previous = redis.call('HMGET', K.meta, 'maxSeats', 'leasingStrategy')
if not previous[1] then return {0} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local previousStrategy = previous[2] or 'PER_MACHINE'
local status, maxSeats, strategy = ARGV[2], ARGV[3], ARGV[11]

local usedBefore = seatsUsed(K, previousStrategy, now)
writeTerms(K.meta)

local reply = {1, 0, tonumber(maxSeats), now}
if status ~= 'ACTIVE' then
  -- Open tickets end too (their holders learn it as EXPIRED); ended ones are forgotten in time.
  for _, ticketId in ipairs(redis.call('ZRANGE', K.tickets, 0, -1)) do endTicket(K, ticketId, readTicket(K, ticketId), 'EXPIRED', now) end
  -- UNLINK frees the keys' memory in the background: a license of 100,000 leases ends at once.
  redis.call('UNLINK', K.leases, K.fp, K.sessions, K.overage, K.holders, K.holderOf, K.users, K.linger, K.onMachine, K.borrowed)
  -- No lease, lingering or set-aside seat is left.
  announceLine(K, ARGV[1], 0, now)
elseif strategy ~= previousStrategy then
  redis.call('DEL', K.users)
  if strategy == 'PER_USER' then rebuildUserSeats(K, now) end
end

-- A raised limit gives its new seats to the first in line.
local used = settleQueue(K, ARGV[1], strategy, tonumber(ARGV[10]), tonumber(ARGV[16]), now)
reply[2] = used
if previous[1] ~= maxSeats or used ~= usedBefore then
  redis.call('PUBLISH', 'lh:seats:' .. ARGV[1], used .. ':' .. maxSeats .. ':' .. now)
end
return reply
