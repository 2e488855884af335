-- tracers_2_statsd for sonde: sends the duration of every finished tracer
-- span to a statsd server as a timer (milliseconds), named by the span's
-- tags. Written for sonde; same name, arguments and output as sysdig's
-- chisel, which always sends to 127.0.0.1:8125 whatever its arguments
-- say; this one sends where they say.
description = "Converts sysdig span duration data into statsd metrics and pipes them to the given statsd server. See https://github.com/draios/sysdig/wiki/Tracers for more information."
short_description = "Export spans duration as statds metrics."
category = "Tracers"
args = {
	{name = "server_addr", description = "The address of the statsd server to send data to", argtype = "string", optional = true},
	{name = "server_port", description = "The UDP port to use", argtype = "string", optional = true},
}

local addr, port = "127.0.0.1", 8125
local htags, hdur

function on_set_arg(name, val)
	if name == "server_addr" then
		addr = val
		return true
	elseif name == "server_port" then
		port = tonumber(val)
		return true
	end
	return false
end

function on_init()
	sysdig.udp_setpeername(addr, port)
	-- sonde records no tracer events yet, and so has no span fields: then
	-- there is nothing to send (as on every capture without tracers)
	local ok_tags, t = pcall(chisel.request_field, "span.tags")
	local ok_dur, d = pcall(chisel.request_field, "span.duration")
	if ok_tags and ok_dur then
		htags, hdur = t, d
	else
		sysdig.log("tracers_2_statsd: this build has no span fields; nothing will be sent", "warning")
	end
	chisel.set_filter("evt.type=tracer and evt.dir=<")
	return true
end

-- A statsd timer: NAME:MS|ms, with ':', '|' and '@' in the name replaced.
local function timer(name, ms)
	return (string.gsub(name, "[:|@]", "_")) .. ":" .. ms .. "|ms"
end

function on_event()
	if hdur == nil then return true end
	local dur = evt.field(hdur)
	if dur then
		sysdig.udp_send(timer(tostring(evt.field(htags)), tonumber(dur) / 1000000))
	end
	return true
end
