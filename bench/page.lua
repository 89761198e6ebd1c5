-- wrk script: GET one page (the URL given to wrk) over and over; done() prints the "BENCH k=v ..." line
-- bench/web.py reads, with the number of answers other than 200.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

not_ok = 0

function response(status, headers, body)
   if status ~= 200 then not_ok = not_ok + 1 end
end

function done(summary, latency, requests)
   local not_200 = 0
   for _, thread in ipairs(threads) do
      not_200 = not_200 + thread:get("not_ok")
   end
   local errors = summary.errors
   io.write(string.format(
      "BENCH duration_us=%d requests=%d not_200=%d non_2xx_3xx=%d socket_errors=%d p50_us=%d p99_us=%d\n",
      summary.duration, summary.requests, not_200, errors.status,
      errors.connect + errors.read + errors.write + errors.timeout,
      latency:percentile(50), latency:percentile(99)
   ))
end
