-- spy_port for sonde: the payloads exchanged on one port. Written for
-- sonde; same name, arguments and output as sysdig's chisel.
description = "Shows the network payloads exchanged using a given IP port number. You can combine this chisel with the -x, -X or -A sysdig command line switches to customize the screen output"
short_description = "Show the data exchanged using the given IP port number"
category = "Net"
args =
{
	{
		name = "host_port",
		description = "The remote host IP port number",
		argtype = "int"
	},
	{
		name = "disable_color",
		description = "Set to 'disable_colors' if you want to disable color output",
		argtype = "string",
		optional = true
	},
}

require "common"
local port
local colors = require("sonde_spy").install(function() return "fd.port=" .. port end, "Write")

function on_set_arg(name, val)
	if name == "host_port" then
		port = val
	elseif name == "disable_color" then
		colors(val)
	else
		return false
	end
	return true
end
