-- wrk: a sign-in flood at /o/token/ (grant_type=password): every request a
-- wrong password for a different unknown user, from a different address
-- (X-Forwarded-For, believed because the bench trusts 127.0.0.1), so no
-- throttle holds it back and each one costs a full argon2 hash.
local n = 0
request = function()
  n = n + 1
  local user = string.format("storm%d_%d", math.random(1, 1000000000), n)
  local addr = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. os.getenv("BENCH_PASSWORD_BASIC"),
    ["X-Forwarded-For"] = addr,
  }, "grant_type=password&username=" .. user .. "&password=wrong+password+here&scope=read")
end
