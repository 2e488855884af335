-- topfiles_bytes for sonde: the files read and written the most. Written
-- for sonde; same name, arguments and output as sysdig's chisel.
description = "Shows the top files in terms of disk usage. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown."
short_description = "Top files by R+W bytes"
category = "I/O"
args = {}

local top = require "sonde_top"

local spec = {
	keys = {"fd.name"},
	key_desc = {"Filename"},
	value = "evt.rawarg.res",
	value_desc = "Bytes",
	filter = "fd.type=file and evt.is_io=true",
	top = 10,
	units = "bytes",
}

spec.containers = function(s)
	s.keys = {"container.name", "fd.name"}
	s.key_desc = {"container.name", "Filename"}
end

top.install(top.table_chisel(spec))
