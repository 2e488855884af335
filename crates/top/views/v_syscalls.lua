-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "syscalls",
	name = "System Calls",
	description = "System calls by rate and time spent in them.",
	tags = {"Default", "wsysdig"},
	view_type = "table",
	filter = "syscall.type exists",
	applies_to = {"", "container.id", "proc.pid", "thread.nametid", "proc.name", "thread.tid", "fd.sport", "fd.sproto", "fd.name", "fd.containername", "fd.directory", "fd.containerdirectory", "evt.res", "k8s.pod.id", "k8s.rc.id", "k8s.rs.id", "k8s.svc.id", "k8s.ns.id"},
	drilldown_target = "syscall_procs",
	use_defaults = true,
	columns = {
		{ name = "NA", field = "evt.type", is_key = true },
		{ name = "CALLS/S", field = "evt.count", colsize = 10, is_sorting = true, aggregation = "TIME_AVG" },
		{ name = "TOT TIME", field = "evt.latency", colsize = 10, aggregation = "SUM" },
		{ name = "AVG TIME", field = "evt.latency", colsize = 10, aggregation = "AVG" },
		{ name = "SYSCALL", field = "evt.type", colsize = 32, aggregation = "SUM" },
	},
}
