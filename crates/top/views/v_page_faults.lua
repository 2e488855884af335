-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "page_faults",
	name = "Page Faults",
	description = "Major and minor page faults of each process since it started.",
	tags = {"Default", "wsysdig"},
	view_type = "table",
	filter = "evt.type!=switch",
	applies_to = {"", "container.id", "fd.name", "fd.containername", "fd.sport", "fd.sproto", "evt.type", "fd.directory", "fd.containerdirectory", "k8s.pod.id", "k8s.rc.id", "k8s.rs.id", "k8s.svc.id", "k8s.ns.id"},
	drilldown_target = "errors",
	use_defaults = true,
	columns = {
		{ name = "NA", field = "proc.pid", is_key = true },
		{ name = "MAJOR", field = "thread.pfmajor", colsize = 9, is_sorting = true, aggregation = "MAX" },
		{ name = "MINOR", field = "thread.pfminor", colsize = 9, aggregation = "MAX" },
		{ name = "PID", field = "proc.pid", colsize = 8 },
		{ name = "VPID", field = "proc.vpid", colsize = 8, tags = {"containers"} },
		{ name = "Container", field = "container.name", colsize = 20, tags = {"containers"} },
		{ name = "Command", field = "proc.exeline", colsize = 0, aggregation = "MAX" },
	},
}
