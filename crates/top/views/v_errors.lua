-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "errors",
	name = "Errors",
	description = "The most frequent system call errors (errno names; see man errno).",
	tags = {"Default", "wsysdig"},
	view_type = "table",
	filter = "evt.res != SUCCESS",
	applies_to = {"", "container.id", "proc.pid", "thread.nametid", "proc.name", "thread.tid", "fd.sport", "fd.sproto", "fd.directory", "fd.containerdirectory", "k8s.pod.id", "k8s.rc.id", "k8s.rs.id", "k8s.svc.id", "k8s.ns.id"},
	drilldown_target = "procs_errors",
	use_defaults = true,
	columns = {
		{ name = "NA", field = "evt.res", is_key = true },
		{ name = "COUNT", field = "evt.count", colsize = 12, is_sorting = true, aggregation = "SUM" },
		{ name = "ERROR", field = "evt.res", colsize = 0 },
	},
}
