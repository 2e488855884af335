-- spy_ip for sonde: the payloads exchanged with one IP address. Written
-- for sonde; same name, arguments and output as sysdig's chisel (whose
-- direction line says "Read" for writes too).
description = "Shows the network payloads exchanged with an IP end-point. You can combine this chisel with the -x, -X or -A sysdig command line switches to customize the screen output"
short_description = "Show the data exchanged with the given IP address"
category = "Net"
args =
{
	{
		name = "host_ip",
		description = "The remote host IP address",
		argtype = "ipv4"
	},
	{
		name = "disable_color",
		description = "Set to 'disable_colors' if you want to disable color output",
		argtype = "string",
		optional = true
	},
}

require "common"
local ip
local colors = require("sonde_spy").install(function() return "fd.ip=" .. ip end, "Read")

function on_set_arg(name, val)
	if name == "host_ip" then
		ip = val
	elseif name == "disable_color" then
		colors(val)
	else
		return false
	end
	return true
end
