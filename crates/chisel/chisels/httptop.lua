-- httptop for sonde: the HTTP requests (method and URL) with the most
-- calls, bytes or time. Written for sonde; same name, arguments and
-- output as sysdig's chisel.
description = "Show top HTTP requests by: ncalls, time or bytes"
short_description = "Top HTTP requests"
category = "Application"
args = {
	{name = "by", description = "Show top HTTP transactions by: ncalls, time or bytes, default is ncalls",
	 argtype = "string", optional = true},
}

local util = require "sonde_util"
local by = "ncalls"
local UNITS = {ncalls = "none", time = "time", bytes = "bytes"}
local key_desc = {"method", "url"}
local with_container = false
local live = false
-- key -> list of transactions
local seen = {}

function on_set_arg(name, val)
	if name ~= "by" then return nil end
	if UNITS[val] == nil then
		print("Invalid argument! Valid options: ncalls, bytes, time")
		return false
	end
	by = val
	return true
end

function on_init()
	util.http_start()
	with_container = sysdig.is_print_container_data()
	if with_container then table.insert(key_desc, 1, "container") end
	return true
end

function on_capture_start()
	live = sysdig.is_live()
	if live then chisel.set_interval_s(1) end
	return true
end

local function add(tr)
	local k = string.format("%s\001\001%s", tr.request.method, tr.request.url)
	if with_container then k = tr.container .. "\001\001" .. k end
	local l = seen[k]
	if l == nil then
		l = {}
		seen[k] = l
	end
	l[#l + 1] = tr
end

function on_event()
	util.http_event(add)
	return true
end

local function show(ts_s, delta)
	local totals = {}
	for k, l in pairs(seen) do
		local v = 0
		if by == "ncalls" then
			v = #l
		elseif by == "bytes" then
			for _, tr in ipairs(l) do v = v + tr.response.length end
		else
			for _, tr in ipairs(l) do v = v + tr.response.ts - tr.request.ts end
			v = v / #l
		end
		totals[k] = v
	end
	local o = {value_desc = by, key_desc = key_desc, units = UNITS[by], top = 30, delta = delta,
		key_fld = key_desc, value_fld = by}
	if sysdig.get_output_format() == "json" then
		util.print_top_json(totals, o, ts_s)
	else
		util.print_top(totals, o)
	end
end

function on_interval(ts_s, _, delta)
	show(ts_s, delta)
	seen = {}
	return true
end

function on_capture_end(ts_s, _, delta)
	if not live then show(ts_s, delta) end
	return true
end
