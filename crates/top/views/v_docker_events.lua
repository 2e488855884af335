-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "docker_events",
	name = "Docker Events",
	description = "Docker activity: container start, stop, kill...",
	tags = {"Default", "nocsysdig"},
	view_type = "list",
	filter = "evt.type=infra",
	applies_to = {},
	use_defaults = true,
	columns = {
		{ name = "TIME", field = "evt.time", colsize = 18 },
		{ name = "EVENT TYPE", field = "evt.arg.name", colsize = 20 },
		{ name = "CONTAINER ID", field = "evt.infra.docker.container.id", colsize = 20 },
		{ name = "CONTAINER IMAGE", field = "evt.infra.docker.container.image", colsize = 20 },
		{ name = "CONTAINER NAME", field = "evt.infra.docker.container.name", colsize = 0 },
	},
}
