-- topscalls_time for sonde: the system calls that took the most time.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
local N = 30
description = "Show the top " .. N .. " system calls in terms of time spent in each call. You can use filters to restrict this to a specific process, thread or file. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown."
short_description = "Top system calls by time"
category = "Performance"
args = {}

local util = require "sonde_util"

local spec = {keys = {"evt.type"}, key_desc = {"Syscall"}, value = "evt.latency",
	value_desc = "Time", top = N, units = "time"}
spec.containers = function(s)
	s.keys[2] = "container.name"
	s.key_desc[2] = "container.name"
end
util.top_chisel(spec)
