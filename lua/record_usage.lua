#!lua
--[[
  Take `amount` from one meter of a license, atomically: refused past limit + overage, counted
  once per idempotency key, and counted in the period the caller names (its UTC day or month).

  KEYS[1] lh:{lic}:meters            HASH the license's status and meters (see lib/meter.lua)
  KEYS[2] lh:{lic}:idem:<day>        HASH idempotency keys of today's DAY meters
  KEYS[3] lh:{lic}:idem:<previous day>
  KEYS[4] lh:{lic}:idem:<month>      HASH idempotency keys of this month's MONTH meters
  KEYS[5] lh:{lic}:idem:<previous month>
  KEYS[6] lh:{lic}:idem:L            HASH idempotency keys of LIFETIME meters
  KEYS[7] lh:{lic}:rate              HASH the license's rate-limit bucket (see lib/token_bucket.lua)
  ARGV[1] meter name
  ARGV[2] amount, >= 1
  ARGV[3] idempotency key
  ARGV[4] day period (D2026-12-01)     ARGV[5] month period (M2026-12)
  ARGV[6] ms the day's keys must live  ARGV[7] ms the month's keys must live
  ARGV[8] bucket capacity, or '' to take no token
  ARGV[9] bucket refill per second

  Reply: {rate, result}; a loaded license takes its token first, and without one result is {-9}.
  result: {code, replay 0|1, used, limit, overage, period, then per code:}
     0 recorded:  the thresholds crossed (%), none on a replay
    -11 exhausted: 1 when this is the meter's first refusal in its period, else 0
  or {-2|-3|-4} suspended, revoked, expired; {-10} no such meter; {-1} not loaded.
]]
--@include token_bucket
--@include meter
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local name = ARGV[1]

local state = redis.call('HMGET', KEYS[1], 'status', 'expiresAt', 'def:' .. name)
if not state[1] then return {{}, {-1}} end
local rate = takeSeatToken(KEYS[7], ARGV[8], ARGV[9], now)
if rate[1] == 0 then return {rate, {-9}} end
if state[1] == 'SUSPENDED' then return {rate, {-2}} end
if state[1] == 'REVOKED' then return {rate, {-3}} end
local expiresAt = tonumber(state[2])
if expiresAt >= 0 and expiresAt <= now then return {rate, {-4}} end
if not state[3] then return {rate, {-10}} end
local limit, overage, kind = parseDefinition(state[3])

local keys, previousKeys, period, ttl = KEYS[6], KEYS[6], 'L', nil
if kind == 'DAY' then
  keys, previousKeys, period, ttl = KEYS[2], KEYS[3], ARGV[4], ARGV[6]
elseif kind == 'MONTH' then
  keys, previousKeys, period, ttl = KEYS[4], KEYS[5], ARGV[5], ARGV[7]
end

local field = name .. '\n' .. ARGV[3]
local first = redis.call('HGET', keys, field) or redis.call('HGET', previousKeys, field)
if first then
  local code, used, firstLimit, firstOverage, firstPeriod = string.match(first, '^(%d) (%d+) (%d+) (%d+) (%S+)$')
  return {rate, {code == '0' and 0 or -11, 1, tonumber(used), tonumber(firstLimit), tonumber(firstOverage), firstPeriod}}
end

-- A new period starts the count again; a period older than the one stored is a caller whose
-- clock lags, and counts into the newer one (periods of one kind sort as strings).
local stored = redis.call('HMGET', KEYS[1], 'period:' .. name, 'used:' .. name, 'fired:' .. name, 'exhausted:' .. name)
local used, fired, exhausted = tonumber(stored[2]) or 0, tonumber(stored[3]) or 0, stored[4]
if stored[1] ~= period then
  if stored[1] and string.sub(stored[1], 1, 1) == string.sub(period, 1, 1) and stored[1] > period then
    period = stored[1]
  else
    used, fired, exhausted = 0, 0, nil
    redis.call('HSET', KEYS[1], 'period:' .. name, period, 'used:' .. name, 0, 'fired:' .. name, 0, 'exhausted:' .. name, 0)
  end
end

local amount = tonumber(ARGV[2])
local reply
if used + amount > limit + overage then
  local firstInPeriod = exhausted ~= '1' and 1 or 0
  if firstInPeriod == 1 then redis.call('HSET', KEYS[1], 'exhausted:' .. name, 1) end
  redis.call('HSET', keys, field, '1 ' .. used .. ' ' .. limit .. ' ' .. overage .. ' ' .. period)
  reply = {-11, 0, used, limit, overage, period, firstInPeriod}
else
  used = used + amount
  local crossed
  crossed, fired = crossedThresholds(used, limit, fired)
  redis.call('HSET', KEYS[1], 'used:' .. name, used, 'fired:' .. name, fired)
  redis.call('HSET', keys, field, '0 ' .. used .. ' ' .. limit .. ' ' .. overage .. ' ' .. period)
  reply = {0, 0, used, limit, overage, period}
  for _, t in ipairs(crossed) do table.insert(reply, t) end
end
if ttl then redis.call('PEXPIRE', keys, ttl) end
return {rate, reply}
