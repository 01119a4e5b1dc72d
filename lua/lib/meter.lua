--[[
  The layout of a license's meters in Redis, shared by the meter scripts.

  lh:{lic}:meters  HASH  status, expiresAt (ms or -1), and per meter <name>:
                         def:<name>       "limit overage period" (period DAY, MONTH or LIFETIME)
                         period:<name>    the period its count belongs to (D2026-12-01, M2026-12, L)
                         used:<name>      its count in that period
                         fired:<name>     the highest threshold (%) announced in that period, 0 if none
                         exhausted:<name> 1 once a refusal was announced in that period
  lh:{lic}:idem:<period> HASH "<name>\n<idempotency key>" -> "code used limit overage period"
                         (code 0 recorded, 1 exhausted); expires when its keys need not answer.
]]
local THRESHOLDS = {80, 90, 100}

-- The thresholds a count of `used` crosses above `fired`, and the new highest one.
local function crossedThresholds(used, limit, fired)
  local crossed = {}
  for _, t in ipairs(THRESHOLDS) do
    if t > fired and used * 100 >= t * limit then
      table.insert(crossed, t)
      fired = t
    end
  end
  return crossed, fired
end

local function parseDefinition(def)
  local limit, overage, period = string.match(def, '^(%d+) (%d+) (%u+)$')
  return tonumber(limit), tonumber(overage), period
end
