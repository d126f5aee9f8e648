-- wrk script for POST /ingest where every body is unique (thread id, a
-- per-thread counter and a random nonce in the content), so each request is
-- a real durable write: identical content would only answer 200 "exists".
-- Usage: wrk -s bench/ingest_unique.lua URL -- RUN_TAG
-- At the end it prints how many answers were not 201 (created).

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  tag = args[1] or tostring(os.time())
  counter = 0
  not_created = 0
  math.randomseed(os.time() * 1000 + id)
end

function request()
  counter = counter + 1
  local nonce = math.random(1, 2147483647)
  local body = string.format(
    '{"title":"bench %s %d-%d","content":"Benchmark document %d of thread %d in run %s, nonce %d. ' ..
    'Self-healing pipelines keep every document durable across restarts of their dependencies."}',
    tag, id, counter, counter, id, tag, nonce)
  return wrk.format("POST", "/ingest", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status ~= 201 then not_created = not_created + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("not_created") end
  io.write(string.format("ingest answers other than 201: %d\n", total))
end
