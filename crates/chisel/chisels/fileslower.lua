-- fileslower for sonde: file I/O slower than a threshold (files under
-- /dev left out). Written for sonde; same name, arguments and output as
-- sysdig's chisel.
description = "Trace file I/O slower than a threshold, or all file I/O. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown. (Blue represents a process running within a container, and Green represents a host process)"
short_description = "Trace slow file I/O"
category = "Performance"
args = {
	{name = "min_ms", description = "Minimum millisecond threshold for showing file I/O", argtype = "int", optional = false},
	{name = "disable_color", description = "Set to 'disable_colors' if you want to disable color output", argtype = "string", optional = true},
}

local util = require "sonde_util"
util.slow_io("evt.is_io=true and fd.type=file", function(name)
	return string.sub(name, 1, 5) == "/dev/"
end)
