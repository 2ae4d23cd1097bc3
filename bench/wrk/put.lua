-- Replace a random seeded customer with a full body (about 1.5 KB, status
-- included): PUT on custd, PATCH of every field on PocketBase, which has no
-- replace. The body keeps the customer's own account number, which is unique.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(dir .. "common.lua")

function init(args)
  bench.init(args)
  assert(bench.templates, "templates=FILE is required")
  bench.method = bench.target == "custd" and "PUT" or "PATCH"
end

function request()
  local id, account = bench.random_customer()
  return wrk.format(bench.method, bench.collection .. "/" .. id, bench.headers, bench.body(account))
end
