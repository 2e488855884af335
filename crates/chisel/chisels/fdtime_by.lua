-- fdtime_by for sonde: the time spent in I/O calls, grouped by any field.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
description = "Groups FD activity based on the given filter field, and returns the keys where most time was spent. For example, this script can be used to list the processes or files that caused the biggest I/O latency."
short_description = "FD time group by"
category = "I/O"
args =
{
	{
		name = "key",
		description = "The filter field used for grouping",
		argtype = "string"
	},
}

local key = ""

function on_set_arg(name, val)
	if name ~= "key" then return false end
	key = val
	return true
end

function on_init()
	chisel.exec("table_generator", key, key, "evt.latency", "Time", "evt.is_io=true", "10", "time")
	return true
end
