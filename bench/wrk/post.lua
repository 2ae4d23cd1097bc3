-- Create a customer from a full body, with an account number that no other
-- request of any run uses: P<run tag>-<thread>-<counter>.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(dir .. "common.lua")

local counter = 0

function init(args)
  bench.init(args)
  assert(bench.templates, "templates=FILE is required")
end

function request()
  counter = counter + 1
  local account = string.format("P%s-%d-%d", bench.tag, thread_number, counter)
  return wrk.format("POST", bench.collection, bench.headers, bench.body(account))
end
