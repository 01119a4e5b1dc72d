#!lua
--[[
  Activate a machine on one license without taking a seat, atomically (a certificate for an app
  that runs offline is issued only to an activated machine, so it counts against maxMachines
  like a machine that took a seat).

  Also the undo of an activation whose Postgres write failed: ARGV[3] is 1, and the machine is
  forgotten again unless it holds a lease as a machine (PER_MACHINE).

  KEYS    the license's seat keys (lib/seat_keys.lua)
  ARGV[1] license id
  ARGV[2] fingerprint
  ARGV[3] 1 to forget the machine instead, else 0
  ARGV[4] bucket capacity, or '' to take no token (the caller is limited elsewhere)
  ARGV[5] bucket refill per second

  Reply: {rate, result}, rate as in acquire.lua ({-9}: no token left, nothing changed).
  result: {0, new machine 0|1, now ms}; refused: {code, now ms} with code -2 suspended,
          -3 revoked, -4 expired, -6 too many machines; {-1} when the license is not loaded.
]]
--@include seat_keys
--@include token_bucket
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local meta = redis.call('HMGET', K.meta, 'status', 'maxMachines', 'expiresAt')
if not meta[1] then return {{}, {-1}} end
local fingerprint = ARGV[2]
if ARGV[3] == '1' then
  if not redis.call('HGET', K.fp, fingerprint) then redis.call('SREM', K.machines, fingerprint) end
  return {{}, {0, 0, now}}
end
local rate = takeSeatToken(K.rate, ARGV[4], ARGV[5], now)
if rate[1] == 0 then return {rate, {-9}} end

local maxMachines = tonumber(meta[2])
local licenseExpiresAt = tonumber(meta[3])
if meta[1] == 'SUSPENDED' then return {rate, {-2, now}} end
if meta[1] == 'REVOKED' then return {rate, {-3, now}} end
if licenseExpiresAt >= 0 and licenseExpiresAt <= now then return {rate, {-4, now}} end

if redis.call('SISMEMBER', K.machines, fingerprint) == 1 then return {rate, {0, 0, now}} end
if maxMachines >= 0 and redis.call('SCARD', K.machines) >= maxMachines then return {rate, {-6, now}} end
redis.call('SADD', K.machines, fingerprint)
return {rate, {0, 1, now}}
