-- topprocs_cpu for sonde: the processes that used the most CPU. Written
-- for sonde; same name, arguments and output as sysdig's chisel.
description = "Show the top process defined by the highest CPU utilization. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown."
short_description = "Top processes by CPU usage"
category = "CPU Usage"
args = {}

local top = require "sonde_top"

local spec = top.cpu_spec({"proc.name", "proc.pid"}, {"Process", "PID"})

spec.containers = function(s)
	s.keys = {"proc.name", "proc.pid", "proc.vpid", "container.name"}
	s.key_desc = {"Process", "Host_pid", "Container_pid", "container.name"}
end

top.install(top.table_chisel(spec))
