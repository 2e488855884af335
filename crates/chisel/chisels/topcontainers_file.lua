-- topcontainers_file for sonde: the containers reading and writing the most file bytes.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
description = "Shows the top containers in terms of total (in+out) bytes to disk."
short_description = "Top containers by R+W disk bytes"
category = "I/O"
args = {}

local top = require "sonde_top"

top.exec_table({keys = "container.name", key_desc = "container.name", value = "evt.rawarg.res", value_desc = "Bytes",
	filter = "fd.type=file and evt.is_io=true and container.name!=host",
	top = 10, units = "bytes"})
