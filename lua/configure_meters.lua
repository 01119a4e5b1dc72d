#!lua
--[[
  Apply a license change (status, expiry, its meters) to the meter path at once. Counts stay:
  a meter removed and added again goes on from its count, as a rebuild from Postgres would.
  A license that is not loaded is left alone: it is loaded, already changed, when next used.

  KEYS[1] lh:{lic}:meters  HASH (see lib/meter.lua)
  ARGV[1] status   ARGV[2] expiresAt ms (-1 = never)
  ARGV[3..] per meter: name, "limit overage period"

  Reply: 1 when applied, 0 when not loaded.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 4) == 'def:' then redis.call('HDEL', KEYS[1], field) end
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'expiresAt', ARGV[2])
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], 'def:' .. ARGV[i], ARGV[i + 1])
end
return 1
