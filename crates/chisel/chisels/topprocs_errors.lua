-- topprocs_errors for sonde: the processes with the most failed system calls.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
description = "Shows the top processes in terms of system call errors. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown."
short_description = "top processes by number of errors"
category = "Errors"
args = {}

local top = require "sonde_top"

top.exec_table({keys = "proc.name,proc.pid", key_desc = "Process,PID", value = "evt.count", value_desc = "#Errors",
	filter = "evt.failed=true",
	top = 100, units = "none"},
	{keys = "proc.name,proc.pid,thread.vtid,container.name", key_desc = "Process,Host_pid,Container_pid,container.name", value = "evt.count", value_desc = "#Errors",
	filter = "evt.failed=true",
	top = 100, units = "none"})
