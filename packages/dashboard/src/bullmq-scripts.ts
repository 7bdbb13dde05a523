import type { Redis } from 'ioredis';

// Two state moves BullMQ 6 has no public call for, as atomic Lua scripts over its key layout
// (`<prefix>:<queue>` lists/zsets wait, paused, delayed, prioritized, waiting-children, failed;
// job hashes `<prefix>:<queue>:<id>` with parentKey; a parent's `:dependencies` set and
// `:unsuccessful` zset of children that failed it). The tests in this package run them
// against a real redis-server and BullMQ, so a BullMQ upgrade that changes the layout fails there.

/**
 * After `job.retry()` of a child that failed its parents (failParentOnFailure), walks up the
 * chain and moves each failed parent back to waiting-children, so the flow continues when the
 * child succeeds. A parent with another failed child stays failed (retry that child too).
 * Returns the ids of the parents reopened.
 */
const REOPEN_PARENTS = `
local rcall = redis.call
local childKey = KEYS[1]
local ts = ARGV[1]
local reopened = {}
for depth = 1, 10 do
  local parentKey = rcall("HGET", childKey, "parentKey")
  if not parentKey or rcall("EXISTS", parentKey) == 0 then break end
  if rcall("ZREM", parentKey .. ":unsuccessful", childKey) == 1 then
    rcall("SADD", parentKey .. ":dependencies", childKey)
  end
  if rcall("ZCARD", parentKey .. ":unsuccessful") > 0 then break end
  local parentId = string.match(parentKey, "([^:]+)$")
  local queueKey = string.sub(parentKey, 1, #parentKey - #parentId - 1)
  local moved = rcall("ZREM", queueKey .. ":failed", parentId) == 1
  if not moved and rcall("HEXISTS", parentKey, "defa") == 1 then
    moved = rcall("LREM", queueKey .. ":wait", 0, parentId) > 0
  end
  if not moved then break end
  rcall("HDEL", parentKey, "finishedOn", "processedOn", "failedReason", "defa", "atm", "ats")
  rcall("ZADD", queueKey .. ":waiting-children", ts, parentId)
  rcall("XADD", queueKey .. ":events", "MAXLEN", "~", 10000, "*", "event", "waiting-children", "jobId", parentId)
  table.insert(reopened, parentId)
  childKey = parentKey
end
return reopened
`;

/**
 * Moves every listed job that is not running or finished (waiting, paused, delayed,
 * prioritized, waiting-children) to failed with the given reason, in one step, so no parent
 * is released by a child's removal half-way. Running jobs finish; their parents are failed.
 * ARGV: timestamp, reason, then queueKey, jobId pairs. Returns the ids moved.
 */
const CANCEL_JOBS = `
local rcall = redis.call
local ts = ARGV[1]
local out = {}
for i = 3, #ARGV, 2 do
  local qk = ARGV[i]
  local id = ARGV[i + 1]
  local jk = qk .. ":" .. id
  if rcall("EXISTS", jk) == 1 then
    local removed = rcall("LREM", qk .. ":wait", 0, id) + rcall("LREM", qk .. ":paused", 0, id)
      + rcall("ZREM", qk .. ":delayed", id) + rcall("ZREM", qk .. ":prioritized", id)
      + rcall("ZREM", qk .. ":waiting-children", id)
    if removed > 0 then
      rcall("ZADD", qk .. ":failed", ts, id)
      rcall("HSET", jk, "failedReason", ARGV[2], "finishedOn", ts)
      rcall("HDEL", jk, "defa")
      rcall("XADD", qk .. ":events", "MAXLEN", "~", 10000, "*", "event", "failed", "jobId", id, "failedReason", ARGV[2], "prev", "waiting")
      table.insert(out, id)
    end
  end
end
return out
`;

export async function reopenFailedParents(redis: Redis, childJobKey: string): Promise<string[]> {
  return (await redis.eval(REOPEN_PARENTS, 1, childJobKey, String(Date.now()))) as string[];
}

export async function cancelJobs(redis: Redis, jobs: Array<{ queueKey: string; jobId: string }>, reason: string): Promise<string[]> {
  if (jobs.length === 0) return [];
  return (await redis.eval(CANCEL_JOBS, 0, String(Date.now()), reason, ...jobs.flatMap((j) => [j.queueKey, j.jobId]))) as string[];
}
