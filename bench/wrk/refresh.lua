-- POST /oauth/token grant_type=refresh_token: every request spends the next unused refresh token.
-- Args: basic=<base64 id:secret> tokens=FILE threads=N
-- Each thread takes its own share of the file, in order, and never sends a token twice: when its
-- share runs out it counts "wrapped" (reported by bench/run.py) and sends an unknown token instead,
-- which the server refuses with 400 (counted as an error) without touching any real grant.
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*[/\\])") .. "common.lua")
setup = common.setup
done = common.done

local requests, position, exhausted = {}, 0, nil
wrapped = 0

function init(args)
  local opts = common.args(args)
  local headers = {
    ["Authorization"] = "Basic " .. opts.basic,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  for _, token in ipairs(common.lines(opts.tokens, thread_index, tonumber(opts.threads))) do
    table.insert(requests, wrk.format("POST", "/oauth/token", headers,
      "grant_type=refresh_token&refresh_token=" .. token))
  end
  exhausted = wrk.format("POST", "/oauth/token", headers, "grant_type=refresh_token&refresh_token=exhausted")
  position = 0
end

function request()
  position = position + 1
  if position > #requests then
    wrapped = wrapped + 1
    return exhausted
  end
  return requests[position]
end
