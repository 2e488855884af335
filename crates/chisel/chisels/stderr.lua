-- stderr for sonde: the data processes write (or read) on fd 2, with the
-- container in front under -pc. Written for sonde; same name, arguments
-- and output as sysdig's chisel.
description = "Print the standard error of any process on screen. Combine this script with a filter to limit the output to a specific process or pid. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown. (Blue represents a process running within a container, and Green represents a host process)"
short_description = "Print stderr of processes"
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

local terminal = require "ansiterminal"
terminal.enable_color(true)

local fname, fid
local with_container = false

-- only the word disable_color is accepted
function on_set_arg(name, val)
	if name == "disable_color" and val == "disable_color" then
		terminal.enable_color(false)
		return true
	end
	return false
end

function on_init()
	fname = chisel.request_field("container.name")
	fid = chisel.request_field("container.id")
	with_container = sysdig.is_print_container_data()
end

require("sonde_std").install(2, function(buf)
	if not with_container then
		print(buf)
		return
	end
	local cname = evt.field(fname)
	local color = terminal.green
	if cname ~= "host" then color = terminal.blue end
	print(color .. string.format("%-20.20s %-20.20s %s", evt.field(fid), cname, buf))
end)
