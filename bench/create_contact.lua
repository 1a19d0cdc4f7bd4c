-- wrk script: POST /v1/contacts with a bearer token; prints one JSON line of results in done().
-- BENCH_TOKEN (required), BENCH_PATH (default /v1/contacts) and BENCH_OFFSET come from the environment.
-- Every request creates a different person: workspaces refuse duplicates by email and phone, so the
-- n-th contact gets email bench.<n>@example.com and the Spanish mobile number 6<n as 8 digits>.
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/v1/contacts"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN is not set")

local counter = tonumber(os.getenv("BENCH_OFFSET") or "0")

request = function()
  counter = counter + 1
  local body = string.format(
    '{"name":"Bench Contact %d","email":"Bench.%d@Example.COM","phone":"6%08d"}', counter, counter, counter)
  return wrk.format(nil, nil, nil, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
