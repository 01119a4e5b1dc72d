#!lua
--[[
  Rebuild one license's seat state from Postgres after Redis lost it (a restart without
  persistence, a flush, a failover to an empty replica), one chunk per call so no call holds
  Redis for long however many sessions the license has. The meta hash is written by the last
  chunk only: until then every seat script answers "not loaded", so nothing else changes the
  license while it loads. Each call does nothing once the license is loaded, so any number of
  instances may race to load it: their chunks add the same sessions, and writing them twice
  changes nothing.

  KEYS    the license's seat keys (lib/seat_keys.lua)
  ARGV[1] license id (names the count channel)
  ARGV[2..] the license's terms (lib/terms.lua), then:
  1 when this is the last chunk, else 0;
  n, the number of open sessions that follow; per session: id, fingerprint, expiry ms,
  overage 0|1, user id or '', process id or '', borrowed 0|1; then m, the number of lingering
  seats (sessions released less than lingerMs ago) that follow, per seat: session id,
  fingerprint, user id or '', process id or '', lingering until ms; then q, the number of open
  queue tickets that follow, per ticket: its place in line (1 = first, counted over every
  chunk), ticket id, fingerprint, user id or '', process id or ''; then activated fingerprints.
  Lingering seats come after every open session (a holder with an open session lingers not).
  Each ticket waits again for claimMs from now: its heartbeats were kept only here, and its
  holder gets one claim period to send the next; the last chunk then gives free seats to the
  first in line, as any seat script does.

  Reply: {1, used, max, now ms} when the last chunk loaded it, {2} for an earlier chunk, {0}
  when it already was loaded.
]]
--@include seat_keys
--@include holders
--@include queue
--@include terms
if redis.call('EXISTS', K.meta) == 1 then return {0} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local maxSeats, strategy = ARGV[3], ARGV[11]
local last = ARGV[AFTER_TERMS] == '1'

local sessionCount = tonumber(ARGV[AFTER_TERMS + 1])
local first = AFTER_TERMS + 2
for i = 0, sessionCount - 1 do
  local base = first + i * 7
  local sessionId, fingerprint, expiry = ARGV[base], ARGV[base + 1], ARGV[base + 2]
  redis.call('ZADD', K.leases, expiry, sessionId)
  local holder = holderOf(strategy, fingerprint, ARGV[base + 4], ARGV[base + 5])
  addHolder(K, holder, sessionId, fingerprint)
  if ARGV[base + 3] == '1' then redis.call('SADD', K.overage, sessionId) end
  if ARGV[base + 6] == '1' then redis.call('ZADD', K.borrowed, expiry, sessionId) end
  if strategy == 'PER_USER' then redis.call('ZADD', K.users, 'GT', expiry, userSeatOf(holder, sessionId)) end
end
local lingerAt = first + sessionCount * 7
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
local ticketAt = lingerAt + 1 + lingerCount * 5
local ticketCount = tonumber(ARGV[ticketAt])
local claimMs = tonumber(ARGV[16])
for i = 0, ticketCount - 1 do
  local base = ticketAt + 1 + i * 5
  local ticketId, fingerprint = ARGV[base + 1], ARGV[base + 2]
  local holder = holderOf(strategy, fingerprint, ARGV[base + 3], ARGV[base + 4])
  redis.call('ZADD', K.queue, ARGV[base], ticketId)
  redis.call('ZADD', K.tickets, now + claimMs, ticketId)
  redis.call('HSET', K.ticketOf, holder, ticketId)
  writeTicket(K, ticketId, {s = 'WAITING', f = fingerprint, u = ARGV[base + 3], p = ARGV[base + 4], h = holder})
end
for i = ticketAt + 1 + ticketCount * 5, #ARGV do
  redis.call('SADD', K.machines, ARGV[i])
end
if not last then return {2} end
-- New tickets take their places after the loaded ones.
local lastPlace = redis.call('ZRANGE', K.queue, -1, -1, 'WITHSCORES')[2] or 0
writeTerms(K.meta, 'reapedAt', now, 'queueSeq', lastPlace)

local used = settleQueue(K, ARGV[1], strategy, tonumber(ARGV[10]), claimMs, now)
redis.call('PUBLISH', 'lh:seats:' .. ARGV[1], used .. ':' .. maxSeats .. ':' .. now)
return {1, used, tonumber(maxSeats), now}
