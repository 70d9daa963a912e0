-- POST /oauth/token grant_type=client_credentials with client_secret_basic: one fixed request.
-- Args: basic=<base64 id:secret> scope=all
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*[/\\])") .. "common.lua")
setup = common.setup
done = common.done

local prepared

function init(args)
  local opts = common.args(args)
  prepared = wrk.format("POST", "/oauth/token", {
    ["Authorization"] = "Basic " .. opts.basic,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "grant_type=client_credentials&scope=" .. opts.scope)
end

function request()
  return prepared
end
