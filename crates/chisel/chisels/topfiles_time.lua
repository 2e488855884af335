-- topfiles_time for sonde: the files where the most time went in I/O calls.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
description = "Shows the top files in terms of disk usage. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown."
short_description = "Top files by time"
category = "I/O"
args = {}

local top = require "sonde_top"

top.exec_table({keys = "fd.name", key_desc = "Filename", value = "evt.latency", value_desc = "Time",
	filter = "fd.type=file and evt.is_io=true",
	top = 10, units = "time"},
	{keys = "fd.name,container.name", key_desc = "Filename,container.name", value = "evt.latency", value_desc = "Time",
	filter = "fd.type=file and evt.is_io=true",
	top = 10, units = "time"})
