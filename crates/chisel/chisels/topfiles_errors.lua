-- topfiles_errors for sonde: the files with the most failed I/O calls.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
description = "Shows the top files in terms of I/O errors. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown."
short_description = "Top files by number of errors"
category = "Errors"
args = {}

local top = require "sonde_top"

top.exec_table({keys = "fd.name", key_desc = "Filename", value = "evt.count", value_desc = "#Errors",
	filter = "fd.type=file and evt.failed=true",
	top = 100, units = "none"},
	{keys = "fd.name,container.name", key_desc = "Filename,container.name", value = "evt.count", value_desc = "#Errors",
	filter = "fd.type=file and evt.failed=true",
	top = 100, units = "none"})
