-- echo_fds for sonde: the data processes read and write, with a line
-- naming the fd before each buffer. Written for sonde; same name,
-- arguments and output as sysdig's chisel.
description = "Print the data read and written for any FD. Combine this script with a filter to restrict what it shows. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown. (Blue represents  [Write], and Red represents [Read] for all data except when the -pc or -pcontainer argument is used. If used the container.name and container.id will be represented as: Green [host], and Cyan [container]) Container information will contain '[]' around container.name and container.id."
short_description = "Print the data read and written by processes."
category = "I/O"
args =
{
	{
		name = "disable_color",
		description = "Set to 'disable_colors' if you want to disable color output",
		argtype = "string",
		optional = true
	},
}

local top = require "sonde_top"
local c = top.colors
local f = {}
local with_container = false

function on_set_arg(name, val)
	if name == "disable_color" and val == "disable_color" then
		top.no_colors()
	end
	return true
end

function on_init()
	for _, name in ipairs({"evt.is_io_read", "evt.rawarg.res", "fd.name", "proc.name",
			"container.name", "container.id"}) do
		f[name] = chisel.request_field(name)
	end
	with_container = sysdig.is_print_container_data()
	sysdig.set_snaplen(2000)
	chisel.set_filter("evt.is_io=true and evt.dir=< and evt.rawres>0")
	-- the buffer itself is printed after the line on_event prints
	chisel.set_event_formatter("%evt.arg.data")
	return true
end

function on_event()
	local res = evt.field(f["evt.rawarg.res"])
	if res == nil or res <= 0 then return true end
	local name = evt.field(f["fd.name"]) or "<NA>"
	local pname = evt.field(f["proc.name"])
	local container = ""
	if with_container then
		local cname = evt.field(f["container.name"])
		local color = (cname == "host") and c.green or c.cyan
		container = string.format("%s [%s] [%s]", color, tostring(cname),
			tostring(evt.field(f["container.id"])))
	end
	local color, what, dir = c.blue, "Write", "to"
	if evt.field(f["evt.is_io_read"]) then
		color, what, dir = c.red, "Read", "from"
	end
	print(string.format("%s------ %s %s %s %s %s %s (%s)", color, what, top.bytes(res), dir,
		container, color, name, tostring(pname)))
	return true
end

function on_capture_end()
	print(c.reset)
end
