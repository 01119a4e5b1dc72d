#!lua
--[[
  Rebuild one license's meters from Postgres (first use, or after Redis lost them): its status,
  its meters with each one's count in its current period, and the idempotency keys that must
  still answer. Does nothing if the license is already loaded, so instances may race to load it.

  KEYS[1] lh:{lic}:meters  HASH (see lib/meter.lua)
  KEYS[2..6] lh:{lic}:idem:<period> for today, the previous day, this month, the previous month, L
  ARGV[1] status   ARGV[2] expiresAt ms (-1 = never)
  ARGV[3] ms the day's keys must live   ARGV[4] ms the month's keys must live
  ARGV[5] n, the number of meters; then per meter: name, limit, overage, period kind, current period, used
  then per remembered usage: key index (2..6), "<name>\n<idempotency key>", its answer

  Reply: 1 when loaded, 0 when it already was.
]]
--@include meter
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'expiresAt', ARGV[2])
local n = tonumber(ARGV[5])
for i = 0, n - 1 do
  local base = 6 + i * 6
  local name, limit, overage, kind, period, used = ARGV[base], ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4], ARGV[base + 5]
  local _, fired = crossedThresholds(tonumber(used), tonumber(limit), 0)
  redis.call('HSET', KEYS[1], 'def:' .. name, limit .. ' ' .. overage .. ' ' .. kind,
    'period:' .. name, period, 'used:' .. name, used, 'fired:' .. name, fired, 'exhausted:' .. name, 0)
end
for i = 6 + n * 6, #ARGV, 3 do
  redis.call('HSET', KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2])
end
for i = 2, 5 do
  local ttl = i <= 3 and ARGV[3] or ARGV[4]
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1
