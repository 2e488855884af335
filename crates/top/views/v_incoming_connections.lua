-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "incoming_connections",
	name = "New Connections",
	description = "Every connection accepted.",
	tags = {"Default"},
	view_type = "list",
	filter = "evt.type=accept and evt.dir=< and evt.failed=false",
	applies_to = {"", "container.id", "proc.pid", "thread.nametid", "proc.name", "thread.tid", "k8s.pod.id", "k8s.rc.id", "k8s.rs.id", "k8s.svc.id", "k8s.ns.id", "fd.name", "fd.containername", "fd.sport", "fd.sproto", "fd.dport", "fd.port", "fd.lport", "fd.rport"},
	columns = {
		{ name = "TIME", field = "evt.time", colsize = 19 },
		{ name = "Connection", field = "fd.name", colsize = 40 },
		{ name = "Container", field = "container.name", colsize = 20, tags = {"containers"} },
		{ name = "Command", field = "proc.exeline", colsize = 0, aggregation = "MAX" },
	},
}
