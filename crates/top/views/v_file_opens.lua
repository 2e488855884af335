-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "file_opens",
	name = "File Opens List",
	description = "Every file open, with its result and process.",
	tags = {"Default"},
	view_type = "list",
	filter = "evt.type=open and evt.dir=<",
	applies_to = {"", "container.id", "proc.pid", "thread.nametid", "proc.name", "thread.tid", "k8s.pod.id", "k8s.rc.id", "k8s.rs.id", "k8s.svc.id", "k8s.ns.id", "fd.name", "fd.containername", "fd.directory", "fd.containerdirectory", "evt.res"},
	columns = {
		{ name = "TIME", field = "evt.time", colsize = 19 },
		{ name = "RES", field = "evt.res", colsize = 8 },
		{ name = "FILE", field = "fd.name", colsize = 40 },
		{ name = "Container", field = "container.name", colsize = 20, tags = {"containers"} },
		{ name = "Command", field = "proc.exeline", colsize = 0, aggregation = "MAX" },
	},
	actions = {
		{ hotkey = "l", command = "less %fd.name", description = "less file", wait_finish = false },
	},
}
