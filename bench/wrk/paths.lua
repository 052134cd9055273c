-- wrk: request the paths listed in a file (one per line) in order, each once; `wrk ... <url> -- <file>`.
-- Counts responses whose Cache-Status says "Pictor; hit" (a derivative cache hit): a cold run must have none.
paths = {}
n = 0
i = 0
hits = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    n = n + 1
    paths[n] = line
  end
end

function request()
  i = i + 1
  return wrk.format("GET", paths[((i - 1) % n) + 1])
end

function response(status, headers, body)
  local cs = headers["cache-status"] or headers["Cache-Status"]
  if cs and string.find(cs, "Pictor; hit", 1, true) then
    hits = hits + 1
  end
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write(string.format("paths: %d of %d sent, cache hits: %d\n", thread:get("i"), thread:get("n"), thread:get("hits")))
  end
end
