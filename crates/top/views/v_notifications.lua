-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "notifications",
	name = "Notifications",
	description = "Notification events (policy hits, container stops).",
	tags = {"nocsysdig"},
	view_type = "list",
	filter = "evt.type=notification",
	applies_to = {},
	use_defaults = true,
	columns = {
		{ name = "TIME", field = "evt.time", colsize = 12 },
		{ name = "ID", field = "evt.arg.id", colsize = 24 },
		{ name = "Container", field = "container.name", colsize = 20, tags = {"containers"} },
		{ name = "DESCRIPTION", field = "evt.arg.desc", colsize = 0 },
	},
}
