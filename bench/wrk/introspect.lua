-- POST /oauth/introspect as a resource server (client_secret_basic), rotating through a file of tokens.
-- Args: basic=<base64 id:secret> tokens=FILE threads=N
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*[/\\])") .. "common.lua")
setup = common.setup
done = common.done

local requests, position = {}, 0

function init(args)
  local opts = common.args(args)
  local headers = {
    ["Authorization"] = "Basic " .. opts.basic,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  for _, token in ipairs(common.lines(opts.tokens, thread_index, tonumber(opts.threads))) do
    local body = "token=" .. token .. "&token_type_hint=access_token"
    table.insert(requests, wrk.format("POST", "/oauth/introspect", headers, body))
  end
  position = 0
end

function request()
  position = position % #requests + 1
  return requests[position]
end
