--[[
  The keys of one license's seat state, as every seat script declares them: in this order,
  all sharing the hash tag {licenseId} so a script stays in one Cluster slot
  (stores/seats/redis.ts passes them so). Scripts name them through K.

  KEYS[1]  lh:{lic}:leases   ZSET session id -> lease expiry ms
  KEYS[2]  lh:{lic}:machines SET  fingerprints ever activated
  KEYS[3]  lh:{lic}:fp       HASH holder -> session id (see lib/holders.lua)
  KEYS[4]  lh:{lic}:sessions HASH session id -> fingerprint
  KEYS[5]  lh:{lic}:meta     HASH the license's limits and status (see load.lua)
  KEYS[6]  lh:{lic}:rate     HASH the license's rate-limit bucket (see lib/token_bucket.lua)
  KEYS[7]  lh:{lic}:overage  SET  session ids of overage leases
  KEYS[8]  lh:{lic}:holders  ZSET holder NUL session id, all scores 0
  KEYS[9]  lh:{lic}:holderOf HASH session id -> holder, for holders other than a fingerprint
  KEYS[10] lh:{lic}:users    ZSET PER_USER seats: user id -> expiry ms of its last lease
  KEYS[11] lh:{lic}:linger   ZSET released seats held for their holder: seat holder -> until ms
  KEYS[12] lh:{lic}:queue    ZSET waiting tickets -> place in line (see lib/queue.lua)
  KEYS[13] lh:{lic}:tickets  ZSET open tickets -> expiry ms
  KEYS[14] lh:{lic}:ready    ZSET tickets with a seat set aside -> claim deadline ms
  KEYS[15] lh:{lic}:ticketInfo HASH ticket id -> ticket (JSON)
  KEYS[16] lh:{lic}:ticketOf HASH holder -> open ticket id
  KEYS[17] lh:{lic}:ticketEnds ZSET ended tickets -> when their status is forgotten, ms
  KEYS[18] lh:{lic}:onMachine ZSET fingerprint NUL session id, all scores 0: the sessions of
                                   each machine, one lexicographic range (deactivate.lua)
  KEYS[19] lh:{lic}:borrowed ZSET session ids of borrowed leases -> borrow end ms
]]
local K = {leases = KEYS[1], machines = KEYS[2], fp = KEYS[3], sessions = KEYS[4], meta = KEYS[5], rate = KEYS[6],
  overage = KEYS[7], holders = KEYS[8], holderOf = KEYS[9], users = KEYS[10], linger = KEYS[11],
  queue = KEYS[12], tickets = KEYS[13], ready = KEYS[14], ticketInfo = KEYS[15], ticketOf = KEYS[16], ticketEnds = KEYS[17],
  onMachine = KEYS[18], borrowed = KEYS[19]}
