#!lua
--[[
  Take `cost` tokens from one token bucket (see lib/token_bucket.lua). Time comes from the
  server (TIME), so every instance sees one clock.

  KEYS[1] the bucket         HASH (lh:rl:{<bucket>}, or lh:{<licenseId>}:rate for a license)
  ARGV[1] capacity           tokens, >= 1
  ARGV[2] refill per second  tokens, > 0 (may be fractional)
  ARGV[3] cost               tokens, 0 <= cost <= capacity

  Reply: {allowed 0|1, remaining, reset at ms, retry after ms}
]]
--@include token_bucket
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
return takeToken(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), now)
