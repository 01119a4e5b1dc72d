--[[
  Seat holders under a license's leasing strategy. Included after lib/seat_keys.lua, whose K
  names the keys.

  A holder is who keeps one lease, and the key of K.fp (holder -> session id): the machine
  (PER_MACHINE: the bare fingerprint), one process of a machine (PER_PROCESS) or one user on one
  machine (PER_USER). Holders other than a bare fingerprint are also listed with their session in
  K.holders, a sorted set of equal scores, so a machine's processes or a user's sessions are one
  lexicographic range; K.holderOf maps the session back to its holder. NUL separates the parts:
  the service refuses it inside a fingerprint, user id or process id.

  Under PER_USER the seats are K.users, not K.leases: one member per user, scored with the
  latest expiry of that user's leases, so a user on several machines holds one seat that ends
  with the last of them. A lease without a user (granted before the license turned PER_USER)
  is a seat of its own there, as NUL .. session id.

  A released seat may linger (K.linger): it stays in use, for its seat holder only (the holder,
  or under PER_USER the user), until its score; that holder's next acquire resumes it.
]]

-- The holder of a new lease, and the prefix its group (a machine's processes, a user's
-- sessions) shares in K.holders; a holder without the id its strategy needs is the machine.
local function holderOf(strategy, fingerprint, userId, processId)
  if strategy == 'PER_PROCESS' and processId ~= '' then
    return 'p\0' .. fingerprint .. '\0' .. processId, 'p\0' .. fingerprint .. '\0'
  end
  if strategy == 'PER_USER' and userId ~= '' then
    return 'u\0' .. userId .. '\0' .. fingerprint, 'u\0' .. userId .. '\0'
  end
  return fingerprint, nil
end

-- The member of K.users that a lease's seat is under PER_USER.
local function userSeatOf(holder, sessionId)
  return (holder and holder:match('^u%z([^%z]*)%z')) or ('\0' .. sessionId)
end

-- The group prefix of a listed holder (everything up to its last NUL).
local function groupOf(holder)
  return holder:match('^(.*%z)')
end

-- The session ids listed in a sorted set of `prefix .. session id` members of equal score,
-- where prefix ends with NUL.
local function sessionsUnder(key, prefix)
  local members = redis.call('ZRANGEBYLEX', key, '[' .. prefix, '(' .. prefix:sub(1, -2) .. '\1')
  local ids = {}
  for i, member in ipairs(members) do ids[i] = member:match('([^%z]*)$') end
  return ids
end

-- Every session of a group with its lease expiry (0 when the lease is gone).
local function groupSessions(K, prefix)
  local members = sessionsUnder(K.holders, prefix)
  local sessions = {}
  for _, sessionId in ipairs(members) do
    sessions[#sessions + 1] = {sessionId, tonumber(redis.call('ZSCORE', K.leases, sessionId) or '0')}
  end
  return sessions
end

-- The sorted set whose members are seats, scored with their expiry: leases, or under PER_USER users.
local function seatSet(K, strategy)
  return strategy == 'PER_USER' and K.users or K.leases
end

-- Seats in use at `now`: live seats, lingering ones and ones set aside for the queue.
local function seatsUsed(K, strategy, now)
  local live = '(' .. now
  return redis.call('ZCOUNT', seatSet(K, strategy), live, '+inf') + redis.call('ZCOUNT', K.linger, live, '+inf')
    + redis.call('ZCOUNT', K.ready, live, '+inf')
end

-- The member of K.linger that a holder's released seat lingers as.
local function lingerOf(strategy, holder, sessionId)
  return strategy == 'PER_USER' and userSeatOf(holder, sessionId) or holder
end

-- Forgets lingering seats whose time is up: each is removed once, by whichever call comes first.
local function dropLapsedLinger(K, now)
  redis.call('ZREMRANGEBYSCORE', K.linger, '-inf', now)
end

-- Records a new lease's holder.
local function addHolder(K, holder, sessionId, fingerprint)
  redis.call('HSET', K.fp, holder, sessionId)
  redis.call('HSET', K.sessions, sessionId, fingerprint)
  redis.call('ZADD', K.onMachine, 0, fingerprint .. '\0' .. sessionId)
  if holder ~= fingerprint then
    redis.call('HSET', K.holderOf, sessionId, holder)
    redis.call('ZADD', K.holders, 0, holder .. '\0' .. sessionId)
  end
end

-- The holder of a held lease.
local function holderOfSession(K, sessionId)
  return redis.call('HGET', K.holderOf, sessionId) or redis.call('HGET', K.sessions, sessionId)
end

-- Under PER_USER, sets a lease's seat to end with the last live lease of its user.
local function settleUserSeat(K, holder, sessionId)
  local seat = userSeatOf(holder, sessionId)
  if seat:sub(1, 1) == '\0' then
    redis.call('ZREM', K.users, seat)
    return
  end
  local latest = 0
  for _, s in ipairs(groupSessions(K, groupOf(holder))) do
    if s[2] > latest then latest = s[2] end
  end
  if latest == 0 then redis.call('ZREM', K.users, seat) else redis.call('ZADD', K.users, latest, seat) end
end

-- Forgets a lease and its holder; answers the fingerprint it was held on (nil if none) and
-- the holder.
local function dropSession(K, sessionId, strategy)
  redis.call('ZREM', K.leases, sessionId)
  redis.call('SREM', K.overage, sessionId)
  redis.call('ZREM', K.borrowed, sessionId)
  local fingerprint = redis.call('HGET', K.sessions, sessionId)
  local holder = redis.call('HGET', K.holderOf, sessionId) or fingerprint
  redis.call('HDEL', K.sessions, sessionId)
  if fingerprint then redis.call('ZREM', K.onMachine, fingerprint .. '\0' .. sessionId) end
  if holder and redis.call('HGET', K.fp, holder) == sessionId then redis.call('HDEL', K.fp, holder) end
  if holder and holder ~= fingerprint then
    redis.call('HDEL', K.holderOf, sessionId)
    redis.call('ZREM', K.holders, holder .. '\0' .. sessionId)
  end
  if strategy == 'PER_USER' then settleUserSeat(K, holder, sessionId) end
  return fingerprint, holder
end

-- Under PER_USER, builds K.users from the live leases (a license that just turned PER_USER).
local function rebuildUserSeats(K, now)
  local live = redis.call('ZRANGEBYSCORE', K.leases, '(' .. now, '+inf', 'WITHSCORES')
  for i = 1, #live, 2 do
    local seat = userSeatOf(holderOfSession(K, live[i]), live[i])
    redis.call('ZADD', K.users, 'GT', live[i + 1], seat)
  end
end
