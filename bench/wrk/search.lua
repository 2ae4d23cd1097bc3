-- The second page of 20 customers whose billing name contains a common
-- fragment. custd matches search.name against the company name or "first last";
-- PocketBase gets the equivalent filter over the same JSON members (the terms
-- have no space, so matching first and last name apart is the same), in the
-- same order (insertion order, as custd's default customer_id), without the
-- total count that custd does not compute either.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local bench = dofile(dir .. "common.lua")

-- Keep in step with customerdata.SearchTerms.
local terms = { "son", "ez", "ch", "ill", "ber", "mill" }
local paths = {}

function init(args)
  bench.init(args)
  bench.headers["Content-Type"] = nil
  for i, t in ipairs(terms) do
    if bench.target == "custd" then
      paths[i] = "/v1/Customers?search.name=" .. bench.urlencode(t) .. "&page=2&page_size=20"
    else
      local filter = string.format(
        "billing_address.company_name ~ '%s' || billing_address.first_name ~ '%s' || billing_address.last_name ~ '%s'",
        t, t, t)
      paths[i] = bench.collection .. "?page=2&perPage=20&skipTotal=1&sort=%40rowid&filter=" .. bench.urlencode(filter)
    end
  end
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], bench.headers)
end
