-- topcontainers_net for sonde: the containers moving the most network bytes.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
description = "Sorted list of containers that use the most network bandwidth."
short_description = "Top containers by network I/O"
category = "Net"
args = {}

local top = require "sonde_top"

top.exec_table({keys = "container.name", key_desc = "container.name", value = "evt.rawarg.res", value_desc = "Bytes",
	filter = "(fd.type=ipv4 or fd.type=ipv6) and evt.is_io=true and container.name!=host",
	top = 100, units = "bytes"})
