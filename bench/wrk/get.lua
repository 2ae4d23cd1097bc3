-- GET one customer by a random seeded id.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(dir .. "common.lua")

function init(args)
  bench.init(args)
  bench.headers["Content-Type"] = nil
end

function request()
  local id = bench.random_customer()
  return wrk.format("GET", bench.collection .. "/" .. id, bench.headers)
end
