-- Shared by every Gatepass bench script: thread numbering, token lists, and one JSON result line.
-- A script loads it with:  local common = dofile(<folder of the script> .. "common.lua")
local common = {}

-- setup/done run in their own Lua state: keep the threads there to read their counters at the end.
local threads = {}

function common.setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

-- The lines of a file, skipping blanks; the thread takes every nth one from its own offset,
-- so no two threads ever send the same single-use value.
function common.lines(path, index, count)
  local file = assert(io.open(path, "r"), "cannot open " .. path)
  local out, n = {}, 0
  for line in file:lines() do
    if line ~= "" then
      if n % count == index then
        table.insert(out, line)
      end
      n = n + 1
    end
  end
  file:close()
  assert(#out > 0, "no lines for this thread in " .. path)
  return out
end

-- Args after "--" come as key=value pairs.
function common.args(args)
  local out = {}
  for _, arg in ipairs(args) do
    local key, value = arg:match("^([%w_]+)=(.*)$")
    if key then
      out[key] = value
    end
  end
  return out
end

-- Prints one line "GPBENCH {json}" that bench/run.py reads.
function common.done(summary, latency, requests)
  local wrapped = 0
  for _, thread in ipairs(threads) do
    wrapped = wrapped + (tonumber(thread:get("wrapped")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'GPBENCH {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"mean_us": %.1f, "wrapped": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean, wrapped))
end

return common
