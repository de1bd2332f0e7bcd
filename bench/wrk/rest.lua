-- wrk script for Tollgate's REST API: real bearer tokens, one per request in turn, and
-- (for money calls) a unique Idempotency-Key per request.
--
--   wrk -t2 -c32 -d10s -s rest.lua http://host:port/v1/wallet/charges -- \
--       <tokens file> <threads> <method> [<body> <key prefix>]
--
-- Thread t of n takes the tokens t, t+n, t+2n, ... in turn, so the requests one thread has
-- in flight belong to different users (different wallets: no queue on one wallet's lock).
-- done() prints one line "WRK_JSON {...}" for the caller to parse.
local tokens = {}
local counter = 0
local step = 1
local method = "GET"
local body = nil
local prefix = nil
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
end

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then
      tokens[#tokens + 1] = "Bearer " .. line
    end
  end
  step = tonumber(args[2])
  method = args[3]
  body = args[4]
  if args[5] then
    prefix = args[5] .. "-" .. thread_id .. "-"
  end
end

function request()
  counter = counter + 1
  local headers = { ["Authorization"] = tokens[((counter * step + thread_id) % #tokens) + 1] }
  if body then
    headers["Content-Type"] = "application/json"
  end
  if prefix then
    headers["Idempotency-Key"] = prefix .. counter
  end
  return wrk.format(method, wrk.path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
