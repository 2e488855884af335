-- around for sonde: writes to a file the events of the same thread within
-- a time range of every event the command line's filter accepts. Written
-- for sonde; same name, arguments and output as sysdig's chisel.
description = "Given a filter on the command line, this chisel saves the events that are in a time range around filter matches, and that are on the SAME process/thread. The time range can be adjusted with the dump_range_ms argument. For example, 'sysdig -c around evt.type=open and evt.failed=true' will save two seconds of activity around every failed open."
short_description = "Export to file the events around the time range where the given filter matches."
category = "Misc"
args = {
	{name = "dump_file_name", description = "The name of the file where the chisel will write the events related to each syslog entry.",
	 argtype = "string", optional = false},
	{name = "dump_range_ms", description = "The time interval to capture *before* and *after* each event, in milliseconds. For example, 500 means that 1 second around each displayed event (.5s before and .5s after) will be saved to <dump_file_name>. The default value for dump_range_ms is 1000.",
	 argtype = "int", optional = true},
}

local util = require "sonde_util"
local file, range = nil, "1000"
local h = {}
local started = false
local tty = false
local export

function on_set_arg(name, val)
	if name == "dump_file_name" then
		file = val
		return true
	elseif name == "dump_range_ms" then
		range = val
		return true
	end
	return false
end

function on_init()
	h.name = chisel.request_field("proc.name")
	h.tid = chisel.request_field("thread.tid")
	h.time = chisel.request_field("evt.time")
	tty = sysdig.is_tty()
	if sysdig.get_filter() == "" then
		print("no filter specified")
		return false
	end
	export = util.exporter(h.tid)
	return true
end

function on_capture_start()
	if sysdig.is_live() then
		print("live capture not supported")
		return false
	end
	started = true
	return true
end

function on_event()
	print(evt.field(h.time) .. " " .. (evt.field(h.name) or "<NA>") .. "(" .. evt.field(h.tid) .. ")")
	export.mark()
	return true
end

function on_capture_end()
	if tty then print(util.colors.reset) end
	if not started then return true end
	print("\nSaving events around " .. #export.marks .. " syslog entries to " .. file)
	export.write(file, range)
	return true
end
