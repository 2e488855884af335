-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "spy_users",
	name = "Spy Users",
	description = "Commands run interactively (from a shell), in time order.",
	tags = {"Default"},
	view_type = "list",
	filter = "((evt.type=execve and evt.dir=<) or (evt.type=chdir and evt.dir=< and proc.name contains sh and not proc.name contains sshd)) and evt.failed=false",
	applies_to = {"", "container.id", "proc.pid", "thread.nametid", "proc.name", "thread.tid", "k8s.pod.id", "k8s.rc.id", "k8s.rs.id", "k8s.svc.id", "k8s.ns.id"},
	use_defaults = true,
	columns = {
		{ name = "TIME", field = "evt.time", colsize = 12 },
		{ name = "USER", field = "user.name", colsize = 12 },
		{ name = "SHELL", field = "proc.ppid", colsize = 8 },
		{ name = "Container", field = "container.name", colsize = 20, tags = {"containers"} },
		{ name = "Command", field = "proc.exeline", colsize = 0, aggregation = "MAX" },
	},
}
