#!lua
--[[
  Read, keep alive or leave one queue ticket (see lib/queue.lua), after settling the queue, so
  a set-aside seat whose claim time is up passes on and a free seat reaches the first in line
  whoever calls. A heartbeat extends a WAITING ticket by claimMs; a READY ticket keeps its
  claim deadline. Leaving ends a WAITING or READY ticket; a seat set aside for it passes on.

  KEYS    the license's seat keys (lib/seat_keys.lua)
  ARGV[1] license id (names the channels)
  ARGV[2] ticket id
  ARGV[3] read, heartbeat or leave

  Reply: {status, position, expiry ms, fingerprint, user id, process id, now ms} (an ended
         ticket's position is 0 and its expiry 0); {-13} no such ticket; {-1} not loaded.
]]
--@include seat_keys
--@include holders
--@include queue
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local meta = redis.call('HMGET', K.meta, 'maxSeats', 'seatBound', 'leasingStrategy', 'claimMs')
if not meta[1] then return {-1} end
local strategy = meta[3] or 'PER_MACHINE'
local seatBound = tonumber(meta[2] or meta[1])
local claimMs = tonumber(meta[4] or '0')
local ticketId, action = ARGV[2], ARGV[3]

settleQueue(K, ARGV[1], strategy, seatBound, claimMs, now)
local ticket = currentTicket(K, ticketId, now)
if not ticket then return {-13} end
local open = ticket.s == 'WAITING' or ticket.s == 'READY'
if open and action == 'heartbeat' and ticket.s == 'WAITING' then
  redis.call('ZADD', K.tickets, now + claimMs, ticketId)
elseif open and action == 'leave' then
  endTicket(K, ticketId, ticket, 'LEFT', now)
  announceLine(K, ARGV[1], settleQueue(K, ARGV[1], strategy, seatBound, claimMs, now), now)
end
local position, expiry = ticketPlace(K, ticketId)
return {ticket.s, position, expiry, ticket.f, ticket.u, ticket.p, now}
