#!lua
--[[
  Rebuild one license's seat state from Postgres after Redis lost it (a restart without
  persistence, a flush, a failover to an empty replica). Does nothing if the license is
  already loaded, so any number of instances may race to load it.

  KEYS    the license's seat keys (lib/seat_keys.lua)
  ARGV[1] license id (names the count channel)
  ARGV[2..] the license's terms (lib/terms.lua), then:
  n, the number of open sessions that follow; per session: id, fingerprint, expiry ms,
  overage 0|1, user id or '', process id or ''; then m, the number of lingering seats (sessions
  released less than lingerMs ago) that follow, per seat: session id, fingerprint, user id or
  '', process id or '', lingering until ms; then the activated fingerprints

  Reply: {1, used, max, now ms} when loaded, {0} when it already was.
]]
--@include seat_keys
--@include holders
--@include terms
if redis.call('EXISTS', K.meta) == 1 then return {0} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local maxSeats, strategy = ARGV[3], ARGV[11]

local sessionCount = tonumber(ARGV[AFTER_TERMS])
local first = AFTER_TERMS + 1
for i = 0, sessionCount - 1 do
  local base = first + i * 6
  local sessionId, fingerprint, expiry = ARGV[base], ARGV[base + 1], ARGV[base + 2]
  redis.call('ZADD', K.leases, expiry, sessionId)
  local holder = holderOf(strategy, fingerprint, ARGV[base + 4], ARGV[base + 5])
  addHolder(K, holder, sessionId, fingerprint)
  if ARGV[base + 3] == '1' then redis.call('SADD', K.overage, sessionId) end
  if strategy == 'PER_USER' then redis.call('ZADD', K.users, 'GT', expiry, userSeatOf(holder, sessionId)) end
end
local lingerAt = first + sessionCount * 6
local lingerCount = tonumber(ARGV[lingerAt])
for i = 0, lingerCount - 1 do
  local base = lingerAt + 1 + i * 5
  local holder = holderOf(strategy, ARGV[base + 1], ARGV[base + 2], ARGV[base + 3])
  local member = lingerOf(strategy, holder, ARGV[base])
  -- A holder with an open session resumed its seat already; one released twice lingers once.
  local holds
  if strategy == 'PER_USER' then holds = redis.call('ZSCORE', K.users, member) else holds = redis.call('HEXISTS', K.fp, holder) == 1 end
  if not holds then
    redis.call('ZADD', K.linger, 'GT', ARGV[base + 4], member)
  end
end
for i = lingerAt + 1 + lingerCount * 5, #ARGV do
  redis.call('SADD', K.machines, ARGV[i])
end
writeTerms(K.meta, 'reapedAt', now)

local used = seatsUsed(K, strategy, now)
redis.call('PUBLISH', 'lh:seats:' .. ARGV[1], used .. ':' .. maxSeats .. ':' .. now)
return {1, used, tonumber(maxSeats), now}
