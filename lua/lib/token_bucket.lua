--[[
  takeToken(key, capacity, refill, cost, now): take `cost` tokens from a token bucket that
  refills continuously. Included (not called) by the scripts that need it: Redis scripts
  cannot call each other, and this is the one copy of the bucket arithmetic.

  The bucket holds at most `capacity` tokens and gains `refill` tokens per second; a missing
  key is a full bucket. The key expires when the bucket would be full again, since a full
  bucket and no key are the same state: idle callers cost no memory.

  key       HASH tokens (fractional), ts (ms of the last update)
  capacity  tokens, >= 1
  refill    tokens per second, > 0 (may be fractional)
  cost      tokens, 0 <= cost <= capacity
  now       ms, from the caller's TIME

  Returns {allowed 0|1, remaining whole tokens, reset at (Unix ms, when the bucket is full),
           retry after ms (0 when allowed; else until `cost` tokens are there)}
]]
local function takeToken(key, capacity, refill, cost, now)
  local perMs = refill / 1000
  local state = redis.call('HMGET', key, 'tokens', 'ts')
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
    redis.call('DEL', key)
  else
    redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
    redis.call('PEXPIRE', key, untilFull)
  end
  return {allowed, math.floor(tokens), math.ceil(now + untilFull), retryAfter}
end

-- A seat script's token from its license's bucket; {} when the caller passes no capacity
-- because it is limited elsewhere (an API key or a user has a bucket of its own).
local function takeSeatToken(key, capacity, refill, now)
  if capacity == '' then return {} end
  return takeToken(key, tonumber(capacity), tonumber(refill), 1, now)
end
