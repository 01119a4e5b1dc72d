--[[
  A license's terms as configure.lua and load.lua receive them: ARGV[2] on, in the order of
  TERM_FIELDS (stores/seats/redis.ts sends them so), written to the meta hash under these names.

  status, maxSeats, maxMachines (-1 = unlimited), leaseMs, reviveMs, expiresAt ms (-1 = never),
  tier, features (JSON array), seatBound (the most seats the overage strategy allows; -1 =
  unlimited), leasingStrategy (PER_MACHINE, PER_USER, PER_PROCESS), maxProcesses (per machine
  under PER_PROCESS; -1 = unlimited), lingerMs (how long a released seat stays its holder's),
  queueEnabled (1 or 0), queueMax (the most waiting tickets), claimMs (how long a ticket lives
  past its last heartbeat, and a set-aside seat waits for its claim), maxBorrowMs (the longest
  borrow; 0 = no borrowing), maxBorrowed (the most borrowed leases at once; -1 = unlimited)
]]
local TERM_FIELDS = {'status', 'maxSeats', 'maxMachines', 'leaseMs', 'reviveMs', 'expiresAt', 'tier', 'features', 'seatBound',
  'leasingStrategy', 'maxProcesses', 'lingerMs',
  'queueEnabled', 'queueMax', 'claimMs', 'maxBorrowMs', 'maxBorrowed'}

-- Writes the terms (and any extra field, value pairs) to the meta hash.
local function writeTerms(metaKey, ...)
  local fields = {...}
  for i, field in ipairs(TERM_FIELDS) do
    fields[#fields + 1] = field
    fields[#fields + 1] = ARGV[i + 1]
  end
  redis.call('HSET', metaKey, unpack(fields))
end

-- The ARGV index just past the terms.
local AFTER_TERMS = #TERM_FIELDS + 2
