-- wrk script of bench/memcached/run.mjs: requests to the URL's path, a
-- number cycling through 0 .. COUNT-1 and SUFFIX, with a body of BYTES
-- seeded random bytes when BYTES > 0 (the same body every time).
--
--   wrk -t1 -c1 -d3s -s bench/memcached/keys.lua URL -- METHOD COUNT BYTES SUFFIX
local method, count, body, suffix
local i = -1

function init(args)
  method, count, suffix = args[1], tonumber(args[2]), args[4] or ""
  local bytes = tonumber(args[3] or "0")
  if bytes > 0 then
    math.randomseed(42)
    local t = {}
    for k = 1, bytes do
      t[k] = string.char(math.random(0, 255))
    end
    body = table.concat(t)
  end
end

function request()
  i = (i + 1) % count
  return wrk.format(method, wrk.path .. i .. suffix, nil, body)
end
