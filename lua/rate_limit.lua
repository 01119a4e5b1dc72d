#!lua
--[[
  Take `cost` tokens from a token bucket that refills continuously.

  The bucket holds at most `capacity` tokens and gains `refill` tokens per second; a missing
  key is a full bucket. Time comes from the server (TIME), so every instance sees one clock.
  The key expires when the bucket would be full again, since a full bucket and no key are the
  same state: idle callers cost no memory.

  KEYS[1] lh:rl:{<bucket>}  HASH tokens (fractional), ts (ms of the last update)
  ARGV[1] capacity           tokens, >= 1
  ARGV[2] refill per second  tokens, > 0 (may be fractional)
  ARGV[3] cost               tokens, 0 <= cost <= capacity

  Reply: {allowed 0|1, remaining whole tokens, reset at (Unix ms, when the bucket is full),
          retry after ms (0 when allowed; else until `cost` tokens are there)}
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000

local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2]) / 1000
local cost = tonumber(ARGV[3])

local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
elseif now > ts then
  -- Never refill backwards if the clock stepped back (a failover to a replica, say).
  tokens = tokens + (now - ts) * perMs
end
-- Also clamps a bucket whose capacity was lowered since its last use.
if tokens > capacity then tokens = capacity end

local allowed = 0
local retryAfter = 0
if tokens >= cost then
  allowed = 1
  tokens = tokens - cost
else
  retryAfter = math.ceil((cost - tokens) / perMs)
end

local untilFull = math.ceil((capacity - tokens) / perMs)
if untilFull <= 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[1], untilFull)
end

return {allowed, math.floor(tokens), math.ceil(now + untilFull), retryAfter}
