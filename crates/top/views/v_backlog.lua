-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "backlog",
	name = "Socket Queues",
	description = "Listen queue (backlog) use of each server port, from accept calls.",
	tags = {"Default"},
	view_type = "table",
	filter = "evt.type=accept",
	applies_to = {"", "proc.pid", "proc.name", "fd.sport", "fd.sproto"},
	is_root = false,
	drilldown_target = "connections",
	use_defaults = true,
	columns = {
		{ name = "NA", field = "fd.sport", is_key = true },
		{ name = "PID", field = "proc.pid", colsize = 15 },
		{ name = "PORT", field = "fd.sport", colsize = 15 },
		{ name = "BACKLOG", field = "evt.arg[3]", colsize = 15, is_sorting = true, aggregation = "AVG" },
		{ name = "BACKLOG_PCT", field = "evt.arg[2]", colsize = 15, aggregation = "AVG" },
		{ name = "BACKLOG_MAX", field = "evt.arg[4]", colsize = 15 },
		{ name = "PROC", field = "proc.name", colsize = 50 },
	},
}
