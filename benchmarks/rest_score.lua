-- wrk script: POST /v1/score with a citizen of citizens.csv ("citizen_id,consent_ref" lines,
-- consents valid now for bank-a) and a fresh request ID per call, like benchmarks/loadgen.c's
-- Score calls; prints the thread-merged result as one JSON line at the end.
-- Environment: TC_CITIZENS (the file), TC_TOKEN (bearer token of a scorer), TC_RUN (a name
-- unique to this run, so that no request ID repeats one the server remembers).
local citizens = {}
for line in io.lines(os.getenv("TC_CITIZENS")) do
  local id, ref = line:match("^(%d+),(.+)$")
  if id then citizens[#citizens + 1] = {id, ref} end
end
local threads, counter, me = {}, 0, 0
local run = os.getenv("TC_RUN")
local headers = {["Content-Type"] = "application/json",
                 ["Authorization"] = "Bearer " .. os.getenv("TC_TOKEN")}

function setup(thread)
  thread:set("me", #threads + 1)
  threads[#threads + 1] = thread
end

function request()
  counter = counter + 1
  local c = citizens[(counter * 7919 + me * 104729) % #citizens + 1]
  local body = string.format(
    '{"citizenId":"%s","consentRef":"%s","requestId":"wrk-%s-%d-%d","purpose":"loan-origination",' ..
    '"product":"unsecured-consumer","loanAmountVnd":"50000000","loanTermMonths":24}',
    c[1], c[2], run, me, counter)
  return wrk.format("POST", "/v1/score", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"throughput_rps":%.1f,"errors":%d,' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
