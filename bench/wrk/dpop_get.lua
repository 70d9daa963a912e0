-- GET a path with "Authorization: DPoP <token>" and a DPoP proof (RFC 9449), each proof sent once.
-- Args: path=/oauth/userinfo token=TOKEN proofs=FILE threads=N
-- The proofs are made beforehand (a proof is single-use and lives 60 s); a thread that runs out starts
-- over, and the server refuses the replays (counted as errors).
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*[/\\])") .. "common.lua")
setup = common.setup
done = common.done

local requests, position = {}, 0

function init(args)
  local opts = common.args(args)
  for _, proof in ipairs(common.lines(opts.proofs, thread_index, tonumber(opts.threads))) do
    table.insert(requests, wrk.format("GET", opts.path, {["Authorization"] = "DPoP " .. opts.token, ["DPoP"] = proof}))
  end
  position = 0
end

function request()
  position = position % #requests + 1
  return requests[position]
end
