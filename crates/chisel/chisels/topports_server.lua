-- topports_server for sonde: the server ports moving the most bytes.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
description = "Shows the top TCP/UDP server ports in terms of total (in+out) bandwidth. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown."
short_description = "Top TCP/UDP server ports by R+W bytes"
category = "Net"
args = {}

local top = require "sonde_top"

top.exec_table({keys = "fd.sport", key_desc = "Srv Port", value = "evt.rawarg.res", value_desc = "Bytes",
	filter = "(fd.type=ipv4 or fd.type=ipv6) and evt.is_io=true",
	top = 100, units = "bytes"},
	{keys = "fd.sport,container.name", key_desc = "Srv Port,container.name", value = "evt.rawarg.res", value_desc = "Bytes",
	filter = "(fd.type=ipv4 or fd.type=ipv6) and evt.is_io=true",
	top = 100, units = "bytes"})
