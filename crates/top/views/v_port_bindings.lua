-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "port_bindings",
	name = "Port bindings",
	description = "Listening ports opened (bind) and closed.",
	tags = {"default", "wsysdig", "nocsysdig"},
	view_type = "list",
	filter = "(evt.type=bind and evt.dir=< and (fd.type=ipv4 or fd.type=ipv6)) or (evt.type=close and evt.dir=> and fd.typechar=2 and fd.type=ipv4)",
	applies_to = {},
	use_defaults = true,
	columns = {
		{ name = "TIME", field = "evt.time", colsize = 12 },
		{ name = "OPERATION", field = "evt.type", colsize = 24 },
		{ name = "PORT", field = "fd.sport", colsize = 24 },
		{ name = "Command", field = "proc.exeline", colsize = 0, aggregation = "MAX" },
	},
}
