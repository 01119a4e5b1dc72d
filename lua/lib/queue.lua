--[[
  The seat queue of a license. Included after lib/seat_keys.lua and lib/holders.lua.

  A ticket waits in K.queue (FIFO: scored by a sequence from meta's queueSeq) while it lives:
  K.tickets scores each open ticket with its expiry, claimMs past its last heartbeat. When a
  seat is free, promote() sets it aside for the first live ticket: the ticket moves to K.ready,
  scored with its claim deadline (claimMs from then), and the set-aside seat counts as used
  (seatsUsed) until it is claimed or the deadline passes, when the seat passes to the next.
  K.ticketInfo holds each ticket as JSON ({s = status, f = fingerprint, u = user id,
  p = process id, h = holder}); K.ticketOf maps a holder to its open ticket; an ended ticket's
  status is kept for TICKET_KEPT_MS (K.ticketEnds scores when it is forgotten), so a late
  heartbeat learns it expired rather than that it never existed.

  Every change of a ticket's status or position is announced with a PUBLISH on
  lh:queue:<licenseId>; subscribers read their ticket again. A change of the line is also a
  change of the count (its `queued`): announceLine publishes both, the count after the change.
]]
local TICKET_KEPT_MS = 600000
-- The most tickets one call settles, so a call's work stays bounded however long the queue.
local QUEUE_STEP_MAX = 100

local function readTicket(K, ticketId)
  local info = redis.call('HGET', K.ticketInfo, ticketId)
  return info and cjson.decode(info)
end

local function writeTicket(K, ticketId, ticket)
  redis.call('HSET', K.ticketInfo, ticketId, cjson.encode(ticket))
end

-- Ends an open ticket with a final status (EXPIRED, LEFT, CLAIMED).
local function endTicket(K, ticketId, ticket, status, now)
  redis.call('ZREM', K.queue, ticketId)
  redis.call('ZREM', K.ready, ticketId)
  redis.call('ZREM', K.tickets, ticketId)
  if redis.call('HGET', K.ticketOf, ticket.h) == ticketId then redis.call('HDEL', K.ticketOf, ticket.h) end
  ticket.s = status
  writeTicket(K, ticketId, ticket)
  redis.call('ZADD', K.ticketEnds, now + TICKET_KEPT_MS, ticketId)
end

-- A ticket, ended first as EXPIRED if it is still WAITING past its expiry (a lapsed ticket is
-- otherwise only seen to when it reaches the head of the line); nil when unknown.
local function currentTicket(K, ticketId, now)
  local ticket = readTicket(K, ticketId)
  if ticket and ticket.s == 'WAITING' and tonumber(redis.call('ZSCORE', K.tickets, ticketId) or '0') <= now then
    endTicket(K, ticketId, ticket, 'EXPIRED', now)
  end
  return ticket
end

-- Opens a ticket at the back of the queue; answers its expiry.
local function openTicket(K, ticketId, ticket, claimMs, now)
  redis.call('ZADD', K.queue, redis.call('HINCRBY', K.meta, 'queueSeq', 1), ticketId)
  redis.call('ZADD', K.tickets, now + claimMs, ticketId)
  redis.call('HSET', K.ticketOf, ticket.h, ticketId)
  ticket.s = 'WAITING'
  writeTicket(K, ticketId, ticket)
  return now + claimMs
end

-- Announces a change of the line to the tickets (lh:queue) and to the count's followers (lh:seats,
-- `used` being the seats in use after the change), whichever script made it.
local function announceLine(K, licenseId, used, now)
  redis.call('PUBLISH', 'lh:queue:' .. licenseId, now)
  redis.call('PUBLISH', 'lh:seats:' .. licenseId, used .. ':' .. redis.call('HGET', K.meta, 'maxSeats') .. ':' .. now)
end

-- A ticket's position (1 = next in line; 0 once READY) and expiry.
local function ticketPlace(K, ticketId)
  local rank = redis.call('ZRANK', K.queue, ticketId)
  return rank and rank + 1 or 0, tonumber(redis.call('ZSCORE', K.tickets, ticketId) or '0')
end

--[[
  Settles the queue at `now`: set-aside seats past their claim deadline lapse, and each free
  seat (under the seat bound; -1 = none) goes to the first live ticket, lapsed ones at the head
  leaving the queue on the way. Announces the line when anything changed. Answers the seats in use.
]]
local function settleQueue(K, licenseId, strategy, seatBound, claimMs, now)
  local changed = false
  local steps = 0
  local lateReady = redis.call('ZRANGEBYSCORE', K.ready, '-inf', now, 'LIMIT', 0, QUEUE_STEP_MAX)
  for _, ticketId in ipairs(lateReady) do
    endTicket(K, ticketId, readTicket(K, ticketId), 'EXPIRED', now)
    changed = true
    steps = steps + 1
  end
  local used = seatsUsed(K, strategy, now)
  while steps < QUEUE_STEP_MAX and (seatBound < 0 or used < seatBound) do
    local head = redis.call('ZRANGE', K.queue, 0, 0)[1]
    if not head then break end
    steps = steps + 1
    changed = true
    local ticket = readTicket(K, head)
    if tonumber(redis.call('ZSCORE', K.tickets, head) or '0') <= now then
      endTicket(K, head, ticket, 'EXPIRED', now)
    else
      redis.call('ZREM', K.queue, head)
      redis.call('ZADD', K.ready, now + claimMs, head)
      redis.call('ZADD', K.tickets, now + claimMs, head)
      ticket.s = 'READY'
      writeTicket(K, head, ticket)
      used = used + 1
    end
  end
  local forgotten = redis.call('ZRANGEBYSCORE', K.ticketEnds, '-inf', now, 'LIMIT', 0, QUEUE_STEP_MAX)
  for _, ticketId in ipairs(forgotten) do
    redis.call('ZREM', K.ticketEnds, ticketId)
    redis.call('HDEL', K.ticketInfo, ticketId)
  end
  if changed then announceLine(K, licenseId, used, now) end
  return used
end
