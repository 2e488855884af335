-- bottlenecks for sonde: the slowest system calls of the capture, each
-- with the enter event that started it. Written for sonde; same name,
-- arguments and output as sysdig's chisel.
local N = 10
description = "Lists the " .. N .. " system calls that took the longest to return during the capture interval."
short_description = "Slowest system calls"
category = "Performance"
args = {}

local h = {}
-- the N slowest so far, slowest first: {latency, enter line, exit line}
local slowest = {}
-- tid -> the line of its last enter event
local entered = {}

function on_init()
	for _, name in ipairs({"evt.num", "evt.type", "evt.args", "evt.latency", "proc.name", "thread.tid"}) do
		h[name] = chisel.request_field(name)
	end
	return true
end

local function line(lat, dir)
	return string.format("%d) %d.%09d %s (%d) %s %s %s", evt.field(h["evt.num"]),
		math.floor(lat / 1000000000), lat % 1000000000, evt.field(h["proc.name"]) or "",
		evt.field(h["thread.tid"]), dir, evt.field(h["evt.type"]), tostring(evt.field(h["evt.args"])))
end

function on_event()
	local etype = evt.field(h["evt.type"])
	if etype == "switch" then return true end
	local lat = evt.field(h["evt.latency"])
	if lat == nil then return true end
	local tid = evt.field(h["thread.tid"])
	if lat == 0 then
		entered[tid] = line(0, ">")
		return true
	end
	local at = nil
	for j = 1, N do
		if slowest[j] == nil or lat > slowest[j][1] then
			at = j
			break
		end
	end
	if at then
		table.insert(slowest, at, {lat, entered[tid], line(lat, "<")})
		if #slowest > N then slowest[#slowest] = nil end
	end
	return true
end

function on_capture_end()
	for _, s in ipairs(slowest) do
		print(s[2])
		print(s[3])
	end
	return true
end
