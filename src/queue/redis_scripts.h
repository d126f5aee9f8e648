// The Lua scripts behind RedisQueue. Each one is a single atomic step, so the
// stream, the delayed set and the job hash of a stage never disagree, even
// with many processes and a consumer dying between any two commands.
//
// Every script takes the same KEYS for one stage:
//   1 stream   the jobs that are ready or leased; consumer group ARGV[1]
//   2 delayed  sorted set: document -> due time (ms, Redis clock)
//   3 jobs     hash: document -> "<state> <job id> <ref>",
//              state q (ref = stream entry id) or d (ref "-")
//   4 ids      the job id counter (shared by all stages)
// No attempts and no dead letters: the store owns those (queue.h).
//
// Leases. A leased entry's PEL idle time is set to `horizon - visibility`
// (XCLAIM ... IDLE), so it reaches the horizon exactly when the lease
// expires: XAUTOCLAIM with min-idle = horizon then finds every expired lease
// whatever visibility each consumer chose. A lease token is
// "<entry id>/<delivery count>": a re-claim bumps the count, a release or
// retry makes a new entry, so a stale token never matches again.
#pragma once

#include "queue/redis_conn.h"

namespace refinery::redis_scripts {

// ARGV: group, document, delay ms. Returns 1 when it added or moved a job.
const redis::Script& Enqueue();
// ARGV: group, consumer, hold idle ms, horizon ms, consumer idle limit ms,
// consumer sweep interval ms. Returns {job id, document, token}, or the
// stream's last entry id ("0-0" if empty) to wait on when nothing is
// deliverable.
const redis::Script& Lease();
// Each lease-guarded script returns 1, or 0 when the lease is gone.
// ARGV: group, token, document.
const redis::Script& Ack();
// ARGV: group, token, document, delay ms (0: ready at once).
const redis::Script& Release();
// ARGV: group, token, hold idle ms.
const redis::Script& Heartbeat();
// KEYS: the four keys of one or more stages in a row. ARGV: group, horizon
// ms. Returns {ready, in flight, delayed} per stage, flattened.
const redis::Script& Depth();

}  // namespace refinery::redis_scripts
