-- topconns for sonde: the network connections moving the most bytes.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
description = "Shows the top network connections in terms of total (in+out) bandwidth. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown."
short_description = "Top network connections by total bytes"
category = "Net"
args = {}

local top = require "sonde_top"

top.exec_table({keys = "fd.l4proto,fd.name", key_desc = "Proto,Conn", value = "evt.rawarg.res", value_desc = "Bytes",
	filter = "(fd.type=ipv4 or fd.type=ipv6) and evt.is_io=true",
	top = 30, units = "bytes"},
	{keys = "container.name,fd.l4proto,fd.name", key_desc = "container.name,Proto,Conn", value = "evt.rawarg.res", value_desc = "Bytes",
	filter = "(fd.type=ipv4 or fd.type=ipv6) and evt.is_io=true",
	top = 30, units = "bytes"})
