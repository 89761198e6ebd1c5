-- wrk script: a supporter's journey, over and over. GET the appeal form, take its csrf_token (and the honeypot's
-- start token) and the session cookie, then POST a valid appeal from a new email address; a 302 means accepted.
--
--   wrk -t4 -c4 -d15s --latency -s bench/appeal.lua http://127.0.0.1:PORT -- /en/cases/bench/appeal/ RUN
--
-- Run with as many connections as threads (-c = -t): each thread then has one connection, and its GET/POST
-- alternation cannot interleave with another connection's. RUN makes addresses unique across runs on one database.
-- done() prints one line "BENCH k=v ..." that bench/web.py reads.

local threads = {}

function setup(thread)
   thread:set("thread_id", #threads + 1)
   table.insert(threads, thread)
end

local path = "/en/cases/bench/appeal/"
local run = "run"
local sent = 0
local token, cookie, started = nil, nil, ""
local stage = "get"
gets, get_failures, posts, accepted, rejected = 0, 0, 0, 0, 0

local function urlencode(s)
   return (s:gsub("[^%w%-%._~]", function(c)
      return string.format("%%%02X", string.byte(c))
   end))
end

local letter = urlencode(
   "Dear Minister,\n\nI am writing to ask you to release the human-rights defender held since last year for "
   .. "peaceful work. Detaining people for speaking out violates the rights your government has pledged to "
   .. "respect, including freedom of expression and association. Please ensure that, pending release, they have "
   .. "regular access to their family and to lawyers of their choosing, and to any medical care they may need, "
   .. "and that they are protected from torture and other ill-treatment.\n\nI will follow this case closely "
   .. "and share news of it with my friends.\n\nYours sincerely,"
)

function init(args)
   path = args[1] or path
   run = args[2] or run
end

function request()
   if token == nil then
      stage = "get"
      return wrk.format("GET", path)
   end
   stage = "post"
   sent = sent + 1
   local email = "s-" .. run .. "-" .. thread_id .. "-" .. sent .. "@example.net"
   local body = "csrf_token=" .. urlencode(token)
      .. "&name=" .. urlencode("Supporter " .. thread_id .. "-" .. sent)
      .. "&email=" .. urlencode(email)
      .. "&country=FR&letter_language=en&consent_share=y&website="
      .. "&started=" .. urlencode(started)
      .. "&letter=" .. letter
   local headers = {["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = cookie}
   token = nil -- the next journey starts with a fresh form
   return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
   if stage == "get" then
      gets = gets + 1
      local set_cookie
      for name, value in pairs(headers) do
         if string.lower(name) == "set-cookie" then set_cookie = value end
      end
      if status == 200 and set_cookie and body then
         token = body:match('name="csrf_token"[^>]-value="([^"]+)"')
         started = body:match('name="started"[^>]-value="([^"]*)"') or ""
         cookie = set_cookie:match("^([^;]+)")
      end
      if token == nil then get_failures = get_failures + 1 end
   else
      posts = posts + 1
      if status == 302 then accepted = accepted + 1 else rejected = rejected + 1 end
   end
end

function done(summary, latency, requests)
   local totals = {gets = 0, get_failures = 0, posts = 0, accepted = 0, rejected = 0}
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + thread:get(name)
      end
   end
   local errors = summary.errors
   io.write(string.format(
      "BENCH duration_us=%d requests=%d gets=%d get_failures=%d posts=%d accepted=%d rejected=%d "
      .. "non_2xx_3xx=%d socket_errors=%d p50_us=%d p99_us=%d\n",
      summary.duration, summary.requests, totals.gets, totals.get_failures, totals.posts, totals.accepted,
      totals.rejected, errors.status, errors.connect + errors.read + errors.write + errors.timeout,
      latency:percentile(50), latency:percentile(99)
   ))
end
