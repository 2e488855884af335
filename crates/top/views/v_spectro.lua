-- sonde top view (csysdig view_info format). Written for sonde.
views = {
{
	id = "spectro_all",
	name = "Spectrogram-All",
	description = "System call latency spectrogram.",
	tags = {},
	view_type = "spectrogram",
	filter = "evt.dir=<",
	applies_to = {"evt.type"},
	use_defaults = false,
	columns = {
		{ name = "NA", field = "evt.latency.quantized", is_key = true },
		{ name = "LATENCY", field = "evt.latency.quantized" },
		{ name = "COUNT", field = "evt.count", colsize = 8, aggregation = "SUM" },
	},
},
{
	id = "spectro_file",
	name = "Spectrogram-File",
	description = "File I/O latency spectrogram.",
	tags = {},
	view_type = "spectrogram",
	filter = "evt.dir=< and fd.type=file",
	applies_to = {"", "container.id", "proc.pid", "thread.nametid", "proc.name", "thread.tid", "k8s.pod.id", "k8s.rc.id", "k8s.rs.id", "k8s.svc.id", "k8s.ns.id", "evt.res", "fd.name", "fd.containername", "fd.directory", "fd.containerdirectory"},
	use_defaults = false,
	columns = {
		{ name = "NA", field = "evt.latency.quantized", is_key = true },
		{ name = "LATENCY", field = "evt.latency.quantized" },
		{ name = "COUNT", field = "evt.count", colsize = 8, aggregation = "SUM" },
	},
},
}
