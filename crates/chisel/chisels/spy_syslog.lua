-- spy_syslog for sonde: every message written to syslog (/dev/log), with
-- facility, severity, process and thread; optionally the events around
-- each written to a file. Written for sonde; same name, arguments and
-- output as sysdig's chisel.
description = "Print every message written to syslog by any process. You can combine this chisel with filters like 'proc.name=foo' (to restrict the output to a specific process), or 'syslog.message contains foo' (to show only messages including a specific string). You can also write the events generated around each log entry to file by using the dump_file_name and dump_range_ms arguments."
short_description = "Print every message written to syslog. Optionally, export the events around each syslog message to file."
category = "Logs"
args = {
	{name = "dump_file_name", description = "The name of the file where the chisel will write the events related to each syslog entry.",
	 argtype = "string", optional = true},
	{name = "dump_range_ms", description = "The time interval to capture *before* and *after* each event, in milliseconds. For example, 500 means that 1 second around each displayed event (.5s before and .5s after) will be saved to <dump_file_name>. The default value for dump_range_ms is 1000.",
	 argtype = "int", optional = true},
	{name = "disable_color", description = "Set to 'disable_colors' if you want to disable color output",
	 argtype = "string", optional = true},
}

local util = require "sonde_util"
local c = util.colors
local file, range = nil, "1000"
local h = {}
local started, tty, with_container = false, false, false
local export

function on_set_arg(name, val)
	if name == "dump_file_name" then
		file = val
		return true
	elseif name == "dump_range_ms" then
		range = val
		return true
	elseif name == "disable_color" and val == "disable_color" then
		util.no_colors()
		return true
	end
	return false
end

function on_init()
	for _, name in ipairs({"syslog.facility.str", "syslog.severity.str", "syslog.severity", "syslog.message",
			"thread.tid", "proc.name", "container.name", "container.id"}) do
		h[name] = chisel.request_field(name)
	end
	with_container = sysdig.is_print_container_data()
	sysdig.set_snaplen(1000)
	chisel.set_filter("fd.name contains /dev/log and evt.is_io_write=true and evt.dir=< and evt.failed=false")
	tty = sysdig.is_tty()
	export = util.exporter(h["thread.tid"])
	return true
end

function on_capture_start()
	if file and sysdig.is_live() then
		print("events export not supported on live captures")
		return false
	end
	started = true
	return true
end

function on_event()
	local f = function(n) return evt.field(h[n]) end
	local fac, sev, msg = f("syslog.facility.str"), f("syslog.severity.str"), f("syslog.message")
	local code, tid, pname = f("syslog.severity"), f("thread.tid"), f("proc.name")
	local cname, cid = f("container.name"), f("container.id")
	local line
	if tty then
		local color
		if code == 4 then
			color = c.yellow
		elseif code < 4 then
			color = c.red
		elseif cname ~= "host" then
			color = c.blue
		else
			color = c.green
		end
		if with_container then
			line = string.format("%s%-20s %-20s %s.%s %s[%u] %s", color, cid, cname, fac, sev, pname, tid, msg)
		else
			line = string.format("%s%s.%s %s[%u] %s", color, fac, sev, pname, tid, msg)
		end
	elseif with_container then
		-- without a terminal sysdig's chisel prints the facility first
		line = string.format("%-20s %-20s %s.%s %s[%u] %s", fac, cid, cname, sev, pname, tid, msg)
	else
		line = string.format("%s.%s %s[%u] %s", fac, sev, pname, tid, msg)
	end
	print(line)
	if file then export.mark() end
	return true
end

function on_capture_end()
	if tty then print(c.reset) end
	if file and started then
		print("Writing events for " .. #export.marks .. " log entries")
		export.write(file, range)
	end
	return true
end
