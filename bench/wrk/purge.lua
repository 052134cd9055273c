-- wrk: POST one purge per request, each for a distinct asset URL; `wrk ... <admin url> -- <key> <render url> <tag>`.
local key, base, tag
i = 0

function init(args)
  key, base, tag = args[1], args[2], args[3]
end

function request()
  i = i + 1
  local body = string.format('{"data":{"type":"purges","attributes":{"url":"%s/tp/%s/%d.jpg"}}}', base, tag, i)
  return wrk.format("POST", "/api/v1/purge", {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/vnd.api+json",
  }, body)
end
