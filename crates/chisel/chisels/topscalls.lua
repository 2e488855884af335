-- topscalls for sonde: the system calls made most often. Written for
-- sonde; same name, arguments and output as sysdig's chisel.
local N = 30
description = "Show the top " .. N .. " system calls in terms of number of calls. You can use filters to restrict this to a specific process, thread or file. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown."
short_description = "Top system calls by number of calls"
category = "Performance"
args = {}

local util = require "sonde_util"

local spec = {keys = {"evt.type"}, key_desc = {"Syscall"}, value = "evt.count",
	value_desc = "# Calls", filter = "evt.type!=switch", top = N, units = "none"}
spec.containers = function(s)
	s.keys[2] = "container.name"
	s.key_desc[2] = "container.name"
end
util.top_chisel(spec)
