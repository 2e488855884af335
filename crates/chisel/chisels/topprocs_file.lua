-- topprocs_file for sonde: the processes reading and writing the most file bytes.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
description = "Shows the top processes in terms of total (in+out) bytes to disk. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown."
short_description = "Top processes by R+W disk bytes"
category = "I/O"
args = {}

local top = require "sonde_top"

top.exec_table({keys = "proc.name,proc.pid", key_desc = "Process,PID", value = "evt.rawarg.res", value_desc = "Bytes",
	filter = "fd.type=file and evt.is_io=true",
	top = 10, units = "bytes"},
	{keys = "proc.name,proc.pid,thread.vtid,container.name", key_desc = "Process,Host_pid,Container_pid,container.name", value = "evt.rawarg.res", value_desc = "Bytes",
	filter = "fd.type=file and evt.is_io=true",
	top = 10, units = "bytes"})
