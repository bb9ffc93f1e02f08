-- Posts pre-generated batch bodies round-robin over keep-alive connections.
-- Arguments (after "--"): <dir with 0.body .. N-1.body> <N> <token> <sensor id> <content-encoding or "identity">
-- Whole requests are built once in init, so per request wrk only hands over a ready string
-- and its own CPU use stays small next to the server's.

local threads = {}

-- Runs in the main Lua state once per thread; keeping the handles lets done() read their counters.
function setup(thread)
   table.insert(threads, thread)
end

local requests = {}
local count = 0
local index = 0
statuses = {}

function init(args)
   local dir, n, token, sensor, encoding = args[1], tonumber(args[2]), args[3], args[4], args[5]
   for i = 0, n - 1 do
      local file = assert(io.open(dir .. "/" .. i .. ".body", "rb"))
      local body = file:read("*a")
      file:close()
      local headers = {
         ["Content-Type"] = "application/json",
         ["Authorization"] = "Bearer " .. token,
         ["X-Spip-ID"] = sensor,
      }
      if encoding ~= "identity" then headers["Content-Encoding"] = encoding end
      requests[i + 1] = wrk.format("POST", nil, headers, body)
   end
   count = n
   -- Threads start at different offsets so they do not send the same body at the same moment.
   index = math.random(0, n - 1)
end

function request()
   index = index % count + 1
   return requests[index]
end

-- wrk itself only counts statuses above 399; every status is counted here, so a 1xx or 3xx
-- (which would mean a broken server) cannot pass for success either.
function response(status, _, _)
   statuses[status] = (statuses[status] or 0) + 1
end

-- Exact figures for the runner (wrk's text output rounds); one line, prefixed so it is easy to find.
function done(summary, latency, _)
   local byStatus = {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         byStatus[status] = (byStatus[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(byStatus) do table.insert(parts, string.format('"%d":%d', status, n)) end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"duration_us":%d,"requests":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,"statuses":{%s},"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
      summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
      table.concat(parts, ","),
      latency.min, latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)))
end
