-- Shared by the scenario scripts: reads the arguments, loads the ids and body
-- templates written by the seeder, counts every response that is not 2xx as an
-- error (wrk itself counts only socket errors and status >= 400), and prints one
-- RESULT line that scripts/bench.sh reads.
--
-- Arguments, after wrk's "--": target=custd|pocketbase ids=FILE auth=FILE
-- [templates=FILE] [tag=TEXT]

local M = {}

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then lines[#lines + 1] = line end
  end
  assert(#lines > 0, path .. " is empty")
  return lines
end

-- Percent-encodes a query value.
function M.urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- Parses key=value arguments and loads what they name into M.
function M.init(args)
  local opts = {}
  for _, a in ipairs(args) do
    local k, v = a:match("^([^=]+)=(.*)$")
    assert(k, "argument " .. a .. " is not key=value")
    opts[k] = v
  end
  assert(opts.target == "custd" or opts.target == "pocketbase", "target=custd|pocketbase is required")
  M.target = opts.target
  M.ids = read_lines(assert(opts.ids, "ids=FILE is required"))
  M.auth = read_lines(assert(opts.auth, "auth=FILE is required"))[1]
  M.tag = opts.tag or tostring(os.time() % 100000000)
  if opts.templates then
    -- Each template is split around the account number, which a request fills in.
    M.templates = {}
    for _, t in ipairs(read_lines(opts.templates)) do
      local pre, post = t:match("^(.*)@ACCOUNT@(.*)$")
      assert(pre, "template without @ACCOUNT@")
      M.templates[#M.templates + 1] = { pre, post }
    end
  end
  if M.target == "custd" then
    M.collection = "/v1/Customers"
  else
    M.collection = "/api/collections/customers/records"
  end
  M.headers = { ["Authorization"] = M.auth, ["Content-Type"] = "application/json" }
  math.randomseed(os.time() * 1000 + (thread_number or 0))
  errors, first_error = 0, nil
end

-- Returns a random seeded id and the account number that customer was seeded
-- with (line k of the ids file is the customer with index k-1).
function M.random_customer()
  local k = math.random(#M.ids)
  return M.ids[k], string.format("AC-%08d", k - 1)
end

-- Returns a random body template filled in with account.
function M.body(account)
  local t = M.templates[math.random(#M.templates)]
  return t[1] .. account .. t[2]
end

-- wrk callbacks shared by every scenario.
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    errors = errors + 1
    if not first_error then
      first_error = status .. " " .. (body or ""):sub(1, 300):gsub("%s+", " ")
    end
  end
end

function done(summary, latency, requests)
  local non2xx, sample = 0, nil
  for _, t in ipairs(threads) do
    non2xx = non2xx + (t:get("errors") or 0)
    sample = sample or t:get("first_error")
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d socket_errors=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    non2xx, e.connect + e.read + e.write + e.timeout))
  if sample then io.write("FIRST_ERROR " .. sample .. "\n") end
end

return M
