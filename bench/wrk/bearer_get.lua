-- GET a path with "Authorization: Bearer <token>", rotating through a file of tokens.
-- Args: path=/oauth/userinfo tokens=FILE threads=N
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*[/\\])") .. "common.lua")
setup = common.setup
done = common.done

local requests, position = {}, 0

function init(args)
  local opts = common.args(args)
  for _, token in ipairs(common.lines(opts.tokens, thread_index, tonumber(opts.threads))) do
    table.insert(requests, wrk.format("GET", opts.path, {["Authorization"] = "Bearer " .. token}))
  end
  position = 0
end

function request()
  position = position % #requests + 1
  return requests[position]
end
