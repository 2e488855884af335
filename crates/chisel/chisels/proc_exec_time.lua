-- proc_exec_time for sonde: each process that exits, with how long it
-- ran, coloured by that time. Written for sonde; same name, arguments and
-- output as sysdig's chisel.
description = "List the processes that have finished running, along with their execution time, and color every line based on the total process run time (Green|Blue below thresholds, Yellow at 3 sec, and Red at 10 sec). This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown. (Blue represents a process running within a container, and Green represents a host process)"
short_description = "Show process execution time"
category = "Performance"
args = {
	{name = "disable_color", description = "Set to 'disable_colors' if you want to disable color output",
	 argtype = "string", optional = true},
}

local util = require "sonde_util"
local c = util.colors
local YELLOW_NS, RED_NS = 3e9, 10e9
local h = {}
local with_container = false

function on_set_arg(_, val)
	if val == "disable_colors" then util.no_colors() end
	return true
end

local function row(cols)
	if with_container then
		return string.format("%-13.13s %-20.20s %-20.20s %-12.12s %s", cols[1], cols[2], cols[3], cols[4], cols[5])
	end
	return string.format("%-13.13s %-12.12s %s", cols[1], cols[4], cols[5])
end

function on_init()
	for _, name in ipairs({"proc.name", "proc.args", "proc.duration", "container.name", "container.id"}) do
		h[name] = chisel.request_field(name)
	end
	with_container = sysdig.is_print_container_data()
	chisel.set_filter("evt.type=procexit")
	print(row({"proc.duration", "container.id", "container.name", "proc.name", "proc.args"}))
	print(row({"-------------", string.rep("-", 20), string.rep("-", 20), "------------", string.rep("-", 20)}))
	return true
end

function on_event()
	local d = evt.field(h["proc.duration"])
	if d == nil then return true end
	local cname = evt.field(h["container.name"])
	local color
	if d > RED_NS then
		color = c.red
	elseif d > YELLOW_NS then
		color = c.yellow
	elseif cname ~= "host" then
		color = c.blue
	else
		color = c.green
	end
	print(color .. row({util.duration(d), tostring(evt.field(h["container.id"])), tostring(cname),
		tostring(evt.field(h["proc.name"])), tostring(evt.field(h["proc.args"]))}))
	return true
end

function on_capture_end()
	print(c.reset)
	return true
end
