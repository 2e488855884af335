-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "files",
	name = "Files",
	description = "Files read and written, with bytes, operations, opens and errors per file.",
	tags = {"Default", "wsysdig"},
	view_type = "table",
	filter = "(fd.type=file or fd.type=directory) and fd.name!=''",
	applies_to = {"", "container.id", "proc.pid", "thread.nametid", "proc.name", "thread.tid", "fd.sport", "fd.sproto", "fd.directory", "fd.containerdirectory", "evt.res", "k8s.pod.id", "k8s.rc.id", "k8s.rs.id", "k8s.svc.id", "k8s.ns.id"},
	drilldown_target = "procs",
	use_defaults = true,
	columns = {
		{ name = "NA", field = "fd.name", is_key = true, tags = {"default"} },
		{ name = "NA", field = "fd.containername", is_key = true, tags = {"containers"} },
		{ name = "BYTES IN", field = "evt.buflen.file.in", description = "Bytes read.", colsize = 12, aggregation = "SUM" },
		{ name = "BYTES OUT", field = "evt.buflen.file.out", description = "Bytes written.", colsize = 12, aggregation = "SUM" },
		{ name = "OPS", field = "evt.count.exit", description = "Operations (open, read, write, stat, close...).", colsize = 9, is_sorting = true, aggregation = "SUM" },
		{ name = "OPENS", field = "evt.type.is.3", description = "Opens.", colsize = 9, aggregation = "SUM" },
		{ name = "ERRORS", field = "evt.count.error", description = "Failed operations.", colsize = 9, aggregation = "SUM" },
		{ name = "Container", field = "container.name", colsize = 20, tags = {"containers"} },
		{ name = "FILENAME", field = "fd.name", colsize = 0 },
	},
	actions = {
		{ hotkey = "l", command = "less %fd.name", description = "less file", wait_finish = false },
	},
}
