-- sonde top view (csysdig view_info format). Written for sonde.
view_info = {
	id = "sports",
	name = "Server Ports",
	description = "Server ports and the traffic through each.",
	tags = {"wsysdig"},
	view_type = "table",
	filter = "(fd.type=ipv4 or fd.type=ipv6) and fd.name!=''",
	applies_to = {"", "container.id", "proc.pid", "thread.nametid", "thread.tid", "proc.name", "evt.res", "k8s.pod.id", "k8s.rc.id", "k8s.rs.id", "k8s.svc.id", "k8s.ns.id"},
	drilldown_target = "connections",
	use_defaults = true,
	columns = {
		{ name = "NA", field = "fd.sport", is_key = true },
		{ name = "SPORT", field = "fd.sport", colsize = 8 },
		{ name = "BPS IN", field = "evt.buflen.net.in", colsize = 12, is_sorting = true, aggregation = "TIME_AVG" },
		{ name = "BPS OUT", field = "evt.buflen.net.out", colsize = 12, aggregation = "TIME_AVG" },
		{ name = "IO CALLS", field = "evt.count", colsize = 12, aggregation = "SUM" },
	},
	actions = {
		{ hotkey = "t", command = "tcpdump -niany port %fd.sport", description = "tcpdump port", wait_finish = false },
	},
}
