-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "syscall_procs",
	name = "Syscall Callers",
	description = "Processes by system call rate and time spent in system calls.",
	tags = {"Default"},
	view_type = "table",
	filter = "syscall.type exists",
	applies_to = {"evt.type"},
	use_defaults = true,
	columns = {
		{ name = "NA", field = "proc.pid", is_key = true },
		{ name = "CALLS/S", field = "evt.count", colsize = 10, is_sorting = true, aggregation = "TIME_AVG" },
		{ name = "TIME", field = "evt.latency", colsize = 10, aggregation = "SUM" },
		{ name = "Container", field = "container.name", colsize = 20, tags = {"containers"} },
		{ name = "Command", field = "proc.exeline", colsize = 0, aggregation = "MAX" },
	},
}
