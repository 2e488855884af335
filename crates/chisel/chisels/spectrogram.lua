-- spectrogram for sonde: a heat map of system call latencies, one row per
-- interval, latencies from 1ns to 100s on a log scale across the
-- terminal. Written for sonde; same name, arguments and output as
-- sysdig's chisel.
description = "This console visualization shows the frequency of system call latencies. The Y axis unit is time. By default, a new line is created twice a second, but that can be changed by specifying a different refresh time argument. The X axis shows a range of latencies. Each latency value has a color that can be black (no calls), green (tens of calls/s), yellow (hundreds of calls/s) or red (Thousands of calls/s). In other words, red areas mean that there are many system calls taking the specified time to return. Use this chisel in conjunction with filters to visualize latencies for certain processes, types of I/O activity, file systems, etc."
short_description = "Visualize OS latency in real time."
category = "CPU Usage"
args = {
	{
		name = "refresh_time",
		description = "Chart refresh time in milliseconds",
		argtype = "int",
		optional = true
	},
}

require "common"
local terminal = require "ansiterminal"
local heat = require "sonde_heat"
terminal.enable_color(true)

-- decades of latency across the screen: 10^0 .. 10^11 ns
local DECADES = 11
local every_ns = 500000000
local tty = false
local width = 0
local flatency
local counts = {}

function on_set_arg(name, val)
	if name ~= "refresh_time" then return false end
	every_ns = parse_numeric_input(val, name) * 1000000
	return true
end

function on_init()
	tty = sysdig.is_tty()
	if not heat.need_tty() then return false end
	width = sysdig.get_terminal_info().width
	chisel.set_filter("evt.dir=<")
	flatency = chisel.request_field("evt.latency")
	terminal.hidecursor()
	return true
end

function on_capture_start()
	chisel.set_interval_ns(every_ns)
	return true
end

function on_event()
	local lat = evt.field(flatency)
	if lat == 0 then return true end
	local col = math.floor(math.min(math.log10(lat), DECADES) * width / DECADES) + 1
	counts[col] = (counts[col] or 0) + 1
	return true
end

function on_interval()
	heat.row(counts, width, 1000000000 / every_ns, function()
		terminal.setfgcol(0)
		terminal.setbgcol(0)
	end)
	heat.axis(width, DECADES, function(decade)
		return "|" .. format_time_interval(10 ^ decade)
	end)
	counts = {}
	return true
end

function on_capture_end()
	if tty then
		-- the last, partial interval
		on_interval()
		print(terminal.reset)
		terminal.showcursor()
	end
	return true
end
