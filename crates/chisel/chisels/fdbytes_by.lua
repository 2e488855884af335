-- fdbytes_by for sonde: I/O bytes grouped by any field (or fields, comma
-- separated). Written for sonde; same name, arguments and output as
-- sysdig's chisel.
description = "Groups FD activity based on the given filter field, and returns the key that generated the most input+output bytes. For example, this script can be used to list the processes or TCP ports that generated most traffic."
short_description = "I/O bytes, aggregated by an arbitrary filter field"
category = "I/O"
args =
{
	{
		name = "key",
		description = "The filter field used for grouping",
		argtype = "string"
	},
}

local top = require "sonde_top"

local spec = {
	value = "evt.rawarg.res",
	value_desc = "Bytes",
	filter = "evt.is_io=true and evt.failed=false",
	top = 30,
	units = "bytes",
}

function on_set_arg(name, val)
	if name ~= "key" then return false end
	spec.keys, spec.key_desc = {}, {}
	for f in string.gmatch(val, "[^,]+") do
		spec.keys[#spec.keys + 1] = f
		spec.key_desc[#spec.key_desc + 1] = f
	end
	return true
end

local cb = top.table_chisel(spec)
top.install(cb)
