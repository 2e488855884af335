-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "io_by_type",
	name = "I/O by Type",
	description = "I/O volume by kind of fd: file, directory, ipv4, ipv6, pipe, unix, signalfd, eventfd, inotify.",
	tags = {"Default", "wsysdig"},
	view_type = "table",
	applies_to = {"", "container.id", "proc.pid", "thread.nametid", "proc.name", "thread.tid", "fd.sport", "fd.sproto", "evt.res", "k8s.pod.id", "k8s.rc.id", "k8s.rs.id", "k8s.svc.id", "k8s.ns.id"},
	drilldown_target = "procs",
	use_defaults = true,
	columns = {
		{ name = "NA", field = "fd.type", is_key = true },
		{ name = "BPS IN", field = "evt.buflen.in", colsize = 12, aggregation = "TIME_AVG" },
		{ name = "BPS OUT", field = "evt.buflen.out", colsize = 12, aggregation = "TIME_AVG" },
		{ name = "IOPS", field = "evt.count", colsize = 9, is_sorting = true, aggregation = "TIME_AVG" },
		{ name = "TIME", field = "evt.latency", colsize = 9, aggregation = "SUM" },
		{ name = "I/O Type", field = "fd.type", colsize = 0, aggregation = "SUM" },
	},
}
