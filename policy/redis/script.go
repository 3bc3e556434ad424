package redis

// gcraScript charges and leases units on every window of a limit at once.
//
//	KEYS[i]  one key per window
//	ARGV[1]  units wanted (the lease)
//	ARGV[2]  debt: units already spent locally, charged unconditionally
//	ARGV[1+2i], ARGV[2+2i]  window i's emission interval T and capacity
//	         burst*T, in microseconds
//
// It returns {granted, retry_us, window}: how many of the wanted units were
// granted (every window conforms for all of them, GCRA as in limits.Policy,
// with TAT = max(TAT, now) + n*T allowed while TAT - now <= capacity), and,
// when fewer than wanted, how long until one more conforms and on which
// window (1-based). Time is Redis's TIME, so instances' clocks do not matter;
// microseconds keep TATs exact in Lua's doubles (2^53 us is 285 years).
// With effects replication (the default since Redis 7) a script may call
// TIME and still write.
const gcraScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local want = tonumber(ARGV[1])
local debt = tonumber(ARGV[2])
local n = #KEYS
local tats = {}
local grant = want
for i = 1, n do
  local T = tonumber(ARGV[1 + 2 * i])
  local C = tonumber(ARGV[2 + 2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  tat = tat + debt * T
  tats[i] = tat
  local k = math.floor((now + C - tat) / T)
  if k < grant then grant = k end
end
if grant < 0 then grant = 0 end
local retry = 0
local which = 0
for i = 1, n do
  local T = tonumber(ARGV[1 + 2 * i])
  local C = tonumber(ARGV[2 + 2 * i])
  local tat = tats[i] + grant * T
  if tat > now then
    redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
  end
  if grant < want then
    local r = tat + T - C - now
    if r > retry then retry = r; which = i end
  end
end
return {grant, retry, which}
`
