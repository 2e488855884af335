-- scallslower for sonde: system calls slower than a threshold. Written
-- for sonde; same name, arguments and output as sysdig's chisel.
description = "Trace syscalls slower than a threshold milliseconds. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown. (Blue represents a process running within a container, and Green represents a host process)"
short_description = "Trace slow syscalls"
category = "Performance"
args = {
	{name = "min_ms", description = "Minimum milliseconds before which a syscall should complete", argtype = "int", optional = false},
	{name = "disable_color", description = "Set to 'disable_colors' if you want to disable color output", argtype = "string", optional = true},
}

local util = require "sonde_util"
local c = util.colors
local h = {}
local min_ms
local with_container = false

function on_set_arg(name, val)
	if name == "disable_color" and val == "disable_color" then
		util.no_colors()
	elseif name == "min_ms" then
		min_ms = util.number_arg(val, name)
	end
	return true
end

function on_init()
	for _, name in ipairs({"evt.type", "evt.datetime", "proc.name", "evt.latency", "container.name", "container.id"}) do
		h[name] = chisel.request_field(name)
	end
	with_container = sysdig.is_print_container_data()
	if with_container then
		-- the header has two spaces before container.name
		print(string.format("%-23.23s %-20.20s  %-20.20s %-23.23s %-20s %s", "evt.datetime", "container.id",
			"container.name", "proc.name", "LATENCY(ms)", "evt.type"))
		print(string.format("%-23.23s %-20.20s %-20.20s %-23.23s %-20s %s", string.rep("-", 23),
			string.rep("-", 20), string.rep("-", 20), string.rep("-", 23), string.rep("-", 20), string.rep("-", 20)))
	else
		print(string.format("%-23.23s %-23.23s %-20s %s", "evt.datetime", "proc.name", "LATENCY(ms)", "evt.type"))
		print(string.format("%-23.23s %-23.23s %-20s %s", string.rep("-", 23), string.rep("-", 23),
			string.rep("-", 20), string.rep("-", 20)))
	end
	return true
end

function on_event()
	local lat = evt.field(h["evt.latency"])
	if lat == nil then return true end
	lat = lat / 1000000
	if not (lat > min_ms) then return true end
	local cname = evt.field(h["container.name"])
	local color = (cname ~= "host") and c.blue or c.green
	-- the latency is printed as Lua prints a number (tostring)
	if with_container then
		print(color .. string.format("%-23.23s %-20.20s %-20.20s %-23.23s %-20s %s", evt.field(h["evt.datetime"]),
			tostring(evt.field(h["container.id"])), tostring(cname), tostring(evt.field(h["proc.name"])),
			tostring(lat), evt.field(h["evt.type"])))
	else
		print(color .. string.format("%-23.23s %-23.23s %-20s %s", evt.field(h["evt.datetime"]),
			tostring(evt.field(h["proc.name"])), tostring(lat), evt.field(h["evt.type"])))
	end
	return true
end
