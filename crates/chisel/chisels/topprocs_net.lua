-- topprocs_net for sonde: the processes moving the most network bytes.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
description = "Sort the list of the processes that use the most network bandwidth. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown."
short_description = "Top processes by network I/O"
category = "Net"
args = {}

local top = require "sonde_top"

top.exec_table({keys = "proc.name,proc.pid", key_desc = "Process,PID", value = "evt.rawarg.res", value_desc = "Bytes",
	filter = "(fd.type=ipv4 or fd.type=ipv6) and evt.is_io=true",
	top = 100, units = "bytes"},
	{keys = "proc.name,proc.pid,thread.vtid,container.name", key_desc = "Process,Host_pid,Container_pid,container.name", value = "evt.rawarg.res", value_desc = "Bytes",
	filter = "(fd.type=ipv4 or fd.type=ipv6) and evt.is_io=true",
	top = 100, units = "bytes"})
