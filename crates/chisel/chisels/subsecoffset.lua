-- subsecoffset for sonde: a heat map of when, within each interval, system
-- calls start, one row per interval. Written for sonde; same name,
-- arguments and output as sysdig's chisel.
description = "This visualizes the subsecond offset time of system call execution. This allows repetitive patterns to be identified, which are lost when averaging at a one second granularity. The Y axis (vertical) shows the passage of time. The X axis (horizontal) shows the passage of time within whole or fractions of a second. By default, the X axis range is 1000 milliseconds; this can be specified as an argument (try 100). Each bucket of the heat map, or spectrogram, is shown as a colored rectangle. The color shows how many syscalls fell into that time and subsecond offset range. It can be black (no calls), green (tens of calls/s), yellow (hundreds of calls/s) or red (Thousands of calls/s). Use this chisel in conjunction with filters to visualize latencies for certain processes, types of I/O activity, file systems, etc."
short_description = "Visualize subsecond offset execution time."
category = "CPU Usage"
args = {
	{
		name = "refresh_time",
		description = "chart refresh time in milliseconds",
		argtype = "int",
		optional = true
	},
}

require "common"
local terminal = require "ansiterminal"
local heat = require "sonde_heat"
terminal.enable_color(true)

local every_ns = 1000000000
local tty = false
local width = 0
-- the widest axis label; labels that would not fit are left out
local label_len = 0
local frawtime
local counts = {}

function on_set_arg(name, val)
	if name ~= "refresh_time" then return false end
	every_ns = parse_numeric_input(val, name) * 1000000
	return true
end

-- every_ns in units of 10ms: the labels are tenths of it, in ms
local function label_ms(tenths)
	return tenths * every_ns / 10000000
end

function on_init()
	tty = sysdig.is_tty()
	if not heat.need_tty() then return false end
	width = sysdig.get_terminal_info().width
	label_len = #("|" .. label_ms(0.9) .. "ms")
	chisel.set_filter("evt.dir=>")
	frawtime = chisel.request_field("evt.rawtime")
	terminal.hidecursor()
	print("Tracing syscalls... red (hot) == high frequency <-> green == low frequency.\n")
	return true
end

function on_capture_start()
	chisel.set_interval_ns(every_ns)
	return true
end

function on_event()
	local t = evt.field(frawtime)
	local col = math.floor((((t * 1000 / every_ns) % 1000) / 1000) * width)
	counts[col] = (counts[col] or 0) + 1
	return true
end

function on_interval()
	-- empty cells only set the background (the foreground stays)
	heat.row(counts, width, 1000000000 / every_ns, function()
		terminal.setbgcol(0)
		terminal.setbgcol(0)
	end)
	heat.axis(width, 10, function(tenth, x)
		if x > width - label_len then return nil end
		return "|" .. label_ms(tenth) .. "ms"
	end)
	counts = {}
	return true
end

function on_capture_end()
	if tty then
		print(terminal.reset)
		terminal.showcursor()
	end
	return true
end
