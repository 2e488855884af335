-- topcontainers_error for sonde: the containers with the most failed system calls.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
description = "Shows the top container in terms of system call errors."
short_description = "Top containers by number of errors"
category = "Errors"
args = {}

local top = require "sonde_top"

top.exec_table({keys = "container.name", key_desc = "container.name", value = "evt.count", value_desc = "#Errors",
	filter = "evt.failed=true and container.name!=host",
	top = 100, units = "none"})
