-- replay.lua - wrk script: replays one pre-signed DynamoDB request and checks every answer.
--
-- The request comes from the file named by BENCH_REQ, written by `bench.py sign`:
-- "Name: value" header lines, one empty line, then the body. wrk sends exactly those
-- headers (Host included, so the signed host matches) and body on every request.
--
-- response() counts answers whose status is not 200 and keeps the first such body, so a
-- run where the gateway refused requests (400 AccessDenied, InvalidSignature, ...) is
-- reported as invalid instead of as a fast run. done() prints one line
-- "BENCHJSON {...}" that bench.py reads (latencies in microseconds).

local path = os.getenv("BENCH_REQ")
local f = assert(io.open(path, "rb"), "BENCH_REQ: cannot open " .. tostring(path))
local text = f:read("*a")
f:close()

local sep = text:find("\n\n", 1, true)
assert(sep, "BENCH_REQ: no empty line between headers and body")
local head, body = text:sub(1, sep - 1), text:sub(sep + 2)

wrk.method = "POST"
wrk.path = "/"
wrk.body = body
wrk.headers = {}
for line in head:gmatch("[^\n]+") do
   local k, v = line:match("^([^:]+):%s*(.*)$")
   if k then wrk.headers[k] = v end
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   ok = 0
   non200 = 0
   statuses = ""
   first_error = ""
end

local seen = {}

function response(status, headers, resp_body)
   if status == 200 then
      ok = ok + 1
      return
   end
   non200 = non200 + 1
   seen[status] = (seen[status] or 0) + 1
   local parts = {}
   for s, n in pairs(seen) do table.insert(parts, s .. "=" .. n) end
   statuses = table.concat(parts, ",")
   if first_error == "" then
      first_error = tostring(status) .. " " .. tostring(resp_body):sub(1, 300)
   end
end

local function jstr(s)
   return '"' .. tostring(s):gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
   end) .. '"'
end

function done(summary, latency, requests)
   local tok, tnon, st, fe = 0, 0, {}, ""
   for _, t in ipairs(threads) do
      tok = tok + (t:get("ok") or 0)
      tnon = tnon + (t:get("non200") or 0)
      local s = t:get("statuses") or ""
      if s ~= "" then table.insert(st, s) end
      local e = t:get("first_error") or ""
      if fe == "" then fe = e end
   end
   local e = summary.errors
   local sockerr = e.connect + e.read + e.write + e.timeout
   local secs = summary.duration / 1e6
   io.write(string.format(
      'BENCHJSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"ok":%d,"non200":%d,' ..
      '"statuses":%s,"first_error":%s,"socket_errors":%d,"errors":{"connect":%d,"read":%d,' ..
      '"write":%d,"timeout":%d,"status":%d},"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
      '"p999_us":%d,"max_us":%d,"mean_us":%.1f,"stdev_us":%.1f}\n',
      summary.requests, secs, summary.requests / secs, tok, tnon, jstr(table.concat(st, ",")),
      jstr(fe), sockerr, e.connect, e.read, e.write, e.timeout, e.status,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean, latency.stdev))
end
