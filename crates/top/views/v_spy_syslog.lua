-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "spy_syslog",
	name = "Spy Syslog",
	description = "What processes write to syslog.",
	tags = {"Default"},
	view_type = "list",
	filter = "fd.name contains /dev/log and evt.is_io_write=true and evt.dir=< and evt.failed=false",
	applies_to = {"", "container.id", "proc.pid", "thread.nametid", "proc.name", "thread.tid", "k8s.pod.id", "k8s.rc.id", "k8s.rs.id", "k8s.svc.id", "k8s.ns.id", "fd.sport", "fd.sproto"},
	columns = {
		{ name = "PID", field = "proc.pid", colsize = 8 },
		{ name = "PROC", field = "proc.name", colsize = 8 },
		{ name = "FAC", field = "syslog.facility.str", colsize = 8 },
		{ name = "SEV", field = "syslog.severity.str", colsize = 8 },
		{ name = "Container", field = "container.name", colsize = 20, tags = {"containers"} },
		{ name = "MESSAGE", field = "syslog.message", colsize = 0 },
	},
}
