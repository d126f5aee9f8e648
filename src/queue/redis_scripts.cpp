#include "queue/redis_scripts.h"

#include <string>

namespace refinery::redis_scripts {

namespace {

// Shared helpers, prepended to every script. Document ids stay strings (Lua
// numbers are doubles); numbers going back to Redis are formatted with %d.
constexpr const char* kPrelude = R"lua(
local S, D, J, IDS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local G = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(n) return string.format('%d', n) end
-- Redis may have restarted empty: (re)create the stream and group on demand.
local function ensure_group()
  redis.pcall('XGROUP', 'CREATE', S, G, '0', 'MKSTREAM')
end
local function get_job(doc)
  local v = redis.call('HGET', J, doc)
  if not v then return nil end
  local state, id, ref = string.match(v, '^([qd]) (%d+) (%S+)$')
  if not state then
    -- written by a version that counted attempts ("<state> <id> <attempts> <ref>");
    -- its dead jobs (state x) read as no job, so Enqueue starts afresh
    state, id, ref = string.match(v, '^([qd]) (%d+) %d+ (%S+)$')
  end
  if not state then return nil end
  return {state = state, id = id, ref = ref}
end
local function put_job(doc, state, id, ref)
  redis.call('HSET', J, doc, state .. ' ' .. id .. ' ' .. ref)
end
local function push_ready(doc, id)
  local eid = redis.call('XADD', S, '*', 'doc', doc, 'job', id)
  put_job(doc, 'q', id, eid)
end
local function remove_entry(eid)
  redis.call('XACK', S, G, eid)
  redis.call('XDEL', S, eid)
end
-- The entry id and consumer behind `token`, while it is ours.
local function owned(token)
  local eid, n = string.match(token, '^(%d+%-%d+)/(%d+)$')
  if not eid then return nil end
  local p = redis.pcall('XPENDING', S, G, eid, eid, 1)
  if type(p) ~= 'table' or p.err or not p[1] then return nil end
  if tonumber(p[1][4]) ~= tonumber(n) then return nil end
  return eid, p[1][2]
end
-- The current job of `doc` when `eid` is its stream entry.
local function job_of(doc, eid)
  local job = get_job(doc)
  if job and job.state == 'q' and job.ref == eid then return job end
  return nil
end
)lua";

// Ready or in flight: nothing to do. Delayed: the earlier time wins.
// Unknown: a new job.
constexpr const char* kEnqueue = R"lua(
local doc, delay = ARGV[2], tonumber(ARGV[3])
local now = now_ms()
local job = get_job(doc)
if job and job.state == 'q' then return 0 end
if job and job.state == 'd' then
  if delay > 0 then
    redis.call('ZADD', D, 'LT', int(now + delay), doc)
    return 0
  end
  redis.call('ZREM', D, doc)
  ensure_group()
  push_ready(doc, job.id)
  return 1
end
local id = int(redis.call('INCR', IDS))
if delay > 0 then
  redis.call('ZADD', D, int(now + delay), doc)
  put_job(doc, 'd', id, '-')
else
  ensure_group()
  push_ready(doc, id)
end
return 1
)lua";

// Due retries into the stream; then expired leases (oldest first), then new
// entries. Entries of jobs that no longer exist are dropped on the way (a
// bounded number per call).
constexpr const char* kLease = R"lua(
local consumer, hold, horizon = ARGV[2], ARGV[3], ARGV[4]
ensure_group()
-- Every worker process is a consumer of its own name, and a killed one is
-- never told to leave: at most once per ARGV[6] ms, forget consumers idle
-- over ARGV[5] ms that own no pending entry. Safe: nothing of theirs is
-- pending (checked atomically here), and a live one that was merely idle
-- is recreated by its next read.
if redis.call('SET', S .. ':consumers-swept', '1', 'NX', 'PX', ARGV[6]) then
  for _, info in ipairs(redis.call('XINFO', 'CONSUMERS', S, G)) do
    local name, pending, idle
    for i = 1, #info, 2 do
      if info[i] == 'name' then name = info[i + 1]
      elseif info[i] == 'pending' then pending = info[i + 1]
      elseif info[i] == 'idle' then idle = info[i + 1] end
    end
    if name ~= consumer and pending == 0 and idle > tonumber(ARGV[5]) then
      redis.call('XGROUP', 'DELCONSUMER', S, G, name)
    end
  end
end
for _, doc in ipairs(redis.call('ZRANGEBYSCORE', D, '-inf', now_ms(), 'LIMIT', 0, 100)) do
  redis.call('ZREM', D, doc)
  local job = get_job(doc)
  if job and job.state == 'd' then push_ready(doc, job.id) end
end
local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end
local function take(eid, fields, deliveries)
  local doc = field(fields, 'doc')
  local job = doc and job_of(doc, eid)
  if not job then
    remove_entry(eid)
    return nil
  end
  redis.call('XCLAIM', S, G, consumer, 0, eid, 'IDLE', hold, 'JUSTID')
  return {job.id, doc, eid .. '/' .. deliveries}
end
for _ = 1, 64 do
  local stale = redis.call('XPENDING', S, G, 'IDLE', horizon, '-', '+', 1)[1]
  if not stale then break end
  local claimed = redis.call('XAUTOCLAIM', S, G, consumer, horizon, stale[1], 'COUNT', 1)
  local entry = claimed[2][1]  -- absent when the entry was deleted: then dropped from the PEL
  if entry then
    local got = take(entry[1], entry[2], tonumber(stale[4]) + 1)
    if got then return got end
  end
end
for _ = 1, 64 do
  local read = redis.call('XREADGROUP', 'GROUP', G, consumer, 'COUNT', 1, 'STREAMS', S, '>')
  if not read then break end
  local entry = read[1][2][1]
  local got = take(entry[1], entry[2], 1)
  if got then return got end
end
local last = redis.call('XREVRANGE', S, '+', '-', 'COUNT', 1)[1]
if last then return last[1] end
return '0-0'
)lua";

constexpr const char* kAck = R"lua(
local eid = owned(ARGV[2])
if not eid then return 0 end
remove_entry(eid)
if job_of(ARGV[3], eid) then redis.call('HDEL', J, ARGV[3]) end
return 1
)lua";

// Back to the delayed set (a retry's backoff) or, without a delay, to the
// stream as a new entry (a new token: the old one never matches again).
constexpr const char* kRelease = R"lua(
local eid = owned(ARGV[2])
if not eid then return 0 end
remove_entry(eid)
local doc, delay = ARGV[3], tonumber(ARGV[4])
local job = job_of(doc, eid)
if not job then return 1 end
if delay > 0 then
  redis.call('ZADD', D, int(now_ms() + delay), doc)
  put_job(doc, 'd', job.id, '-')
else
  push_ready(doc, job.id)
end
return 1
)lua";

constexpr const char* kHeartbeat = R"lua(
local eid, consumer = owned(ARGV[2])
if not eid then return 0 end
redis.call('XCLAIM', S, G, consumer, 0, eid, 'IDLE', ARGV[3], 'JUSTID')
return 1
)lua";

// Every stream entry is ready or pending (entries are deleted when acked);
// pending ones idle past the horizon have expired leases and count as ready,
// as do retries already due. KEYS hold one stage's four keys after another
// (as Keys() lists them), so one call answers for every stage.
constexpr const char* kDepth = R"lua(
local now = now_ms()
local out = {}
for base = 0, #KEYS - 4, 4 do
  local S, D = KEYS[base + 1], KEYS[base + 2]
  local pending, stale = 0, 0
  local summary = redis.pcall('XPENDING', S, G)
  if type(summary) == 'table' and not summary.err then pending = summary[1] end
  if pending > 0 then
    stale = #redis.call('XPENDING', S, G, 'IDLE', ARGV[2], '-', '+', pending)
  end
  local due = redis.call('ZCOUNT', D, '-inf', int(now))
  local later = redis.call('ZCOUNT', D, '(' .. int(now), '+inf')
  local entries = redis.call('XLEN', S)
  for _, n in ipairs({entries - pending + stale + due, pending - stale, later}) do
    out[#out + 1] = n
  end
end
return out
)lua";

redis::Script Make(const char* body) { return redis::Script(std::string(kPrelude) + body); }

}  // namespace

const redis::Script& Enqueue() {
  static const redis::Script script = Make(kEnqueue);
  return script;
}
const redis::Script& Lease() {
  static const redis::Script script = Make(kLease);
  return script;
}
const redis::Script& Ack() {
  static const redis::Script script = Make(kAck);
  return script;
}
const redis::Script& Release() {
  static const redis::Script script = Make(kRelease);
  return script;
}
const redis::Script& Heartbeat() {
  static const redis::Script script = Make(kHeartbeat);
  return script;
}
const redis::Script& Depth() {
  static const redis::Script script = Make(kDepth);
  return script;
}

}  // namespace refinery::redis_scripts
