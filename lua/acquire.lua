#!lua
--[[
  Acquire a seat on one license, atomically.

  A holder (see lib/holders.lua: the machine, a process of it, or a user on it, by the
  license's leasing strategy) that already holds a live lease renews it (same session, no
  second seat). Otherwise a new machine must fit under maxMachines, a new process under
  maxProcessesPerMachine (PER_PROCESS), and a new seat under the license's seat bound:
  maxSeats, or more under an overage strategy. A lease granted while maxSeats are already
  taken is an overage lease, and stays marked as one for its life. Under PER_USER a user
  whose seat is live takes no second seat for another machine, and a holder whose released
  seat still lingers resumes it (a new session on the same seat).

  The queue (lib/queue.lua) is settled first, so a seat that freed by expiry goes to the first
  in line, never to this caller. A holder whose ticket is READY takes the seat set aside for it
  (claiming: ARGV[9] names the ticket, whose holder ids are used). With ARGV[8], an acquire that
  finds no seat free on a license with an enabled queue opens that ticket (or answers the
  holder's open one) instead of being refused, unless the queue is full.
  With ARGV[10], the acquire borrows the seat: the lease lives that long (at most maxBorrowMs,
  and never past the license's expiry) without heartbeats, and counts against maxBorrowed
  while it lives (K.borrowed). A holder's live lease is turned into a borrow the same way; a
  plain acquire never cuts a holder's borrow short.
  A lease is live while its score (expiry, ms) is in the future, so an expired lease stops
  counting at its expiry without anyone removing it; the sweeper's reap removes it later.

  KEYS    the license's seat keys (lib/seat_keys.lua)
  ARGV[1] license id (names the count channel)
  ARGV[2] session id to use if a new lease is granted
  ARGV[3] fingerprint
  ARGV[4] bucket capacity, or '' to take no token (the caller is limited elsewhere)
  ARGV[5] bucket refill per second
  ARGV[6] user id, or ''
  ARGV[7] process id, or ''
  ARGV[8] ticket id to open when no seat is free, or '' not to queue
  ARGV[9] ticket id being claimed, or ''
  ARGV[10] borrow length ms, or '' not to borrow

  Reply: {rate, result}. rate is the token bucket's answer ({} when ARGV[4] is ''); a loaded
  license takes its token before anything else, and when none is left result is {-9} and
  nothing changes. result, granted: {renewed 0|1, session id, expiry ms, used, max,
                   new machine 0|1, now ms, tier, features JSON, license expiry ms or -1, overage 0|1,
                   borrowed 0|1}
  result, queued: {2, ticket id, position, ticket expiry ms, used, max, now ms}
  result, refused: {code, used, max, now ms} with code -2 suspended, -3 revoked, -4 expired,
                  -5 no seats (or the queue is full), -10 a user id is required (PER_USER),
                  -11 a process id is required (PER_PROCESS), -13 no such ticket, -14 the
                  ticket has ended (lapsed, left or claimed); {code, used, max, now ms, limit} with code -6 too
                  many machines (limit maxMachines), -12 too many processes on this machine
                  (limit maxProcessesPerMachine), -16 no borrowing this long (limit maxBorrowMs, 0
                  when the license allows none), -17 too many borrowed seats (limit maxBorrowed); {-1} when the license is not loaded.
]]
--@include seat_keys
--@include token_bucket
--@include holders
--@include queue
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local meta = redis.call('HMGET', K.meta, 'status', 'maxSeats', 'maxMachines', 'leaseMs', 'expiresAt', 'tier', 'features', 'seatBound',
  'leasingStrategy', 'maxProcesses', 'queueEnabled', 'queueMax', 'claimMs', 'maxBorrowMs', 'maxBorrowed')
if not meta[1] then return {{}, {-1}} end
local rate = takeSeatToken(K.rate, ARGV[4], ARGV[5], now)
if rate[1] == 0 then return {rate, {-9}} end
local maxSeats = tonumber(meta[2])
local maxMachines = tonumber(meta[3])
local leaseMs = tonumber(meta[4])
local licenseExpiresAt = tonumber(meta[5])
-- A license loaded before these policies existed has none of their fields: the defaults.
local seatBound = tonumber(meta[8] or meta[2])
local strategy = meta[9] or 'PER_MACHINE'
local maxProcesses = tonumber(meta[10] or '-1')
local claimMs = tonumber(meta[13] or '0')

dropLapsedLinger(K, now)
local used = settleQueue(K, ARGV[1], strategy, seatBound, claimMs, now)
if meta[1] == 'SUSPENDED' then return {rate, {-2, used, maxSeats, now}} end
if meta[1] == 'REVOKED' then return {rate, {-3, used, maxSeats, now}} end
if licenseExpiresAt >= 0 and licenseExpiresAt <= now then return {rate, {-4, used, maxSeats, now}} end
local borrowMs = tonumber(ARGV[10])
local maxBorrowed = tonumber(meta[15] or '-1')
if borrowMs then
  local maxBorrowMs = tonumber(meta[14] or '0')
  if borrowMs > maxBorrowMs then return {rate, {-16, used, maxSeats, now, maxBorrowMs}} end
end
-- Whether one more borrowed lease would pass maxBorrowed.
local function borrowsFull()
  return maxBorrowed >= 0 and redis.call('ZCOUNT', K.borrowed, '(' .. now, '+inf') >= maxBorrowed
end

local fingerprint, userId, processId = ARGV[3], ARGV[6], ARGV[7]
local claimed = ARGV[9] ~= '' and ARGV[9] or nil
local ticket = claimed and currentTicket(K, claimed, now)
if claimed then
  if not ticket then return {rate, {-13, used, maxSeats, now}} end
  if ticket.s == 'WAITING' then
    local position, ticketExpiry = ticketPlace(K, claimed)
    return {rate, {2, claimed, position, ticketExpiry, used, maxSeats, now}}
  end
  if ticket.s ~= 'READY' then return {rate, {-14, used, maxSeats, now}} end
  fingerprint, userId, processId = ticket.f, ticket.u, ticket.p
end
if strategy == 'PER_USER' and userId == '' then return {rate, {-10, used, maxSeats, now}} end
if strategy == 'PER_PROCESS' and processId == '' then return {rate, {-11, used, maxSeats, now}} end
local holder, group = holderOf(strategy, fingerprint, userId, processId)
if not claimed then
  claimed = redis.call('HGET', K.ticketOf, holder)
  ticket = claimed and readTicket(K, claimed)
  if ticket and ticket.s ~= 'READY' then claimed = nil end
end

local expiry = now + (borrowMs or leaseMs)
if borrowMs and licenseExpiresAt >= 0 and licenseExpiresAt < expiry then expiry = licenseExpiresAt end
local held = redis.call('HGET', K.fp, holder)
if held then
  local heldExpiry = redis.call('ZSCORE', K.leases, held)
  if heldExpiry and tonumber(heldExpiry) > now then
    local borrowedUntil = tonumber(redis.call('ZSCORE', K.borrowed, held) or '0')
    local borrowing = borrowedUntil > now
    if borrowMs then
      if not borrowing and borrowsFull() then return {rate, {-17, used, maxSeats, now, maxBorrowed}} end
      if borrowedUntil > expiry then expiry = borrowedUntil end
      redis.call('ZADD', K.borrowed, expiry, held)
      borrowing = true
    elseif borrowing then
      expiry = borrowedUntil
    end
    redis.call('ZADD', K.leases, 'XX', expiry, held)
    if strategy == 'PER_USER' then redis.call('ZADD', K.users, 'GT', expiry, userId) end
    return {rate, {1, held, expiry, used, maxSeats, 0, now, meta[6], meta[7], licenseExpiresAt, redis.call('SISMEMBER', K.overage, held),
      borrowing and 1 or 0}}
  end
end
if borrowMs and borrowsFull() then return {rate, {-17, used, maxSeats, now, maxBorrowed}} end

local newMachine = redis.call('SISMEMBER', K.machines, fingerprint) == 0
if newMachine and maxMachines >= 0 and redis.call('SCARD', K.machines) >= maxMachines then
  return {rate, {-6, used, maxSeats, now, maxMachines}}
end
if strategy == 'PER_PROCESS' and maxProcesses >= 0 then
  local running = 0
  for _, s in ipairs(groupSessions(K, group)) do
    if s[2] > now then running = running + 1 end
  end
  if running >= maxProcesses then return {rate, {-12, used, maxSeats, now, maxProcesses}} end
end

-- Under PER_USER a user whose seat is live adds a machine without taking a seat; a lingering
-- seat of this holder is resumed rather than a new one taken.
local takesSeat = true
if strategy == 'PER_USER' then
  local userSeat = redis.call('ZSCORE', K.users, userId)
  takesSeat = not (userSeat and tonumber(userSeat) > now)
end
if claimed then
  -- The seat set aside for this holder's ticket becomes its lease.
  endTicket(K, claimed, ticket, 'CLAIMED', now)
  redis.call('PUBLISH', 'lh:queue:' .. ARGV[1], now)
  takesSeat = false
elseif redis.call('ZREM', K.linger, lingerOf(strategy, holder, ARGV[2])) == 1 then
  takesSeat = false
end
if takesSeat and seatBound >= 0 and used >= seatBound then
  if ARGV[8] ~= '' and meta[11] == '1' then
    local open = redis.call('HGET', K.ticketOf, holder)
    if open and currentTicket(K, open, now).s ~= 'WAITING' then open = nil end
    if not open then
      if redis.call('ZCARD', K.queue) >= tonumber(meta[12]) then return {rate, {-5, used, maxSeats, now}} end
      open = ARGV[8]
      openTicket(K, open, {f = fingerprint, u = userId, p = processId, h = holder}, claimMs, now)
      announceLine(K, ARGV[1], used, now)
    end
    local position, ticketExpiry = ticketPlace(K, open)
    return {rate, {2, open, position, ticketExpiry, used, maxSeats, now}}
  end
  return {rate, {-5, used, maxSeats, now}}
end

local sessionId = ARGV[2]
local overage = takesSeat and used >= maxSeats
if overage then redis.call('SADD', K.overage, sessionId) end
if newMachine then redis.call('SADD', K.machines, fingerprint) end
redis.call('ZADD', K.leases, expiry, sessionId)
if borrowMs then redis.call('ZADD', K.borrowed, expiry, sessionId) end
addHolder(K, holder, sessionId, fingerprint)
if strategy == 'PER_USER' then redis.call('ZADD', K.users, 'GT', expiry, userId) end
if takesSeat then
  used = used + 1
  redis.call('PUBLISH', 'lh:seats:' .. ARGV[1], used .. ':' .. maxSeats .. ':' .. now)
end
return {rate, {0, sessionId, expiry, used, maxSeats, newMachine and 1 or 0, now, meta[6], meta[7], licenseExpiresAt, overage and 1 or 0,
  borrowMs and 1 or 0}}
