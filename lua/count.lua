#!lua
--[[
  The number of live leases of one license, read at the Redis clock.

  KEYS[1] lh:{lic}:leases ZSET session id -> expiry ms
  KEYS[2] lh:{lic}:meta   HASH the license's limits and status
  Reply: {used, max, now ms}, or {-1} when the license is not loaded.
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local maxSeats = redis.call('HGET', KEYS[2], 'maxSeats')
if not maxSeats then return {-1} end
return {redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf'), tonumber(maxSeats), now}
