-- spy_logs for sonde: every line written to a log file, with the process
-- and file; optionally the events around each write exported to a file.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
description = "This chisel intercepts all the writes to files containing '.log' or '_log' in their name, and pretty prints them. You can combine this chisel with filters like 'proc.name=foo' (to restrict the output to a specific process), or 'evt.buffer contains foo' (to show only messages including a specific string). You can also write the events generated around each log entry to file by using the dump_file_name and dump_range_ms arguments. If running from a terminal the line will be colored Green = OK; Yellow = Warn; and Red = Error. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown. ( A Blue colored container.name represents a process running within a container)"
short_description = "Echo any write made by any process to a log file. Optionally, export the events around each log message to file."
category = "Logs"
args = {
	{name = "dump_file_name", description = "The name of the file where the chisel will write the events related to each syslog entry.",
	 argtype = "string", optional = true},
	{name = "dump_range_ms", description = "The time interval to capture *before* and *after* each event, in milliseconds. For example, 500 means that 1 second around each displayed event (.5s before and .5s after) will be saved to <dump_file_name>. The default value for dump_range_ms is 1000.",
	 argtype = "int", optional = true},
	{name = "disable_color", description = "Set to 'disable_colors' if you want to disable color output",
	 argtype = "string", optional = true},
}

local LOG_FILES = "(fd.name contains .log or fd.name contains _log or fd.name contains /var/log) and not (fd.name contains .gz or fd.name contains .tgz)"

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
	for _, name in ipairs({"evt.buffer", "thread.tid", "proc.name", "fd.name", "container.name"}) do
		h[name] = chisel.request_field(name)
	end
	with_container = sysdig.is_print_container_data()
	sysdig.set_snaplen(2000)
	sysdig.set_output_format("ascii")
	chisel.set_filter("(" .. LOG_FILES .. ") and evt.is_io_write=true and evt.dir=< and evt.failed=false")
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

-- One line of a write, as printed on a terminal (coloured by its words).
local function on_tty(prefix, cname, msg)
	local color = c.green
	if string.find(string.lower(msg), "warn") then
		color = c.yellow
	elseif string.find(msg, "err") then
		color = c.red
	end
	if not with_container then
		return string.format("%s %s%s", color, prefix, msg)
	end
	local ccolor = (cname ~= "host") and c.blue or color
	return string.format("%s %s %s", color, string.format("%s %s", ccolor, tostring(cname)),
		string.format("%s %s%s", color, prefix, msg))
end

function on_event()
	local buf = evt.field(h["evt.buffer"])
	local cname = evt.field(h["container.name"])
	local prefix = tostring(evt.field(h["proc.name"])) .. " " .. tostring(evt.field(h["fd.name"])) .. " "
	for _, msg in ipairs(util.split(tostring(buf), "\n")) do
		if #msg ~= 0 then
			if tty then
				print(on_tty(prefix, cname, msg))
			elseif with_container then
				print(string.format("%s %s%s", tostring(cname), prefix, msg))
			else
				print(prefix .. msg)
			end
		end
	end
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
