#!lua
--[[
  The number of seats in use of one license, read at the Redis clock.

  KEYS    the license's seat keys (lib/seat_keys.lua)
  Reply: {used, max, now ms, waiting tickets, live borrowed leases}, or {-1} when the license
  is not loaded.
]]
--@include seat_keys
--@include holders
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local meta = redis.call('HMGET', K.meta, 'maxSeats', 'leasingStrategy')
if not meta[1] then return {-1} end
return {seatsUsed(K, meta[2] or 'PER_MACHINE', now), tonumber(meta[1]), now, redis.call('ZCARD', K.queue),
  redis.call('ZCOUNT', K.borrowed, '(' .. now, '+inf')}
