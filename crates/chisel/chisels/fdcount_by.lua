-- fdcount_by for sonde: how many distinct fds were used per value of any
-- field. Written for sonde; same name, arguments and output as sysdig's
-- chisel.
description = "Groups all the active FDs based on the given filter field, and returns the fd count for each key. For example, it can be used to list the number of connections per process or per IP endpoint."
short_description = "FD count, aggregated by an arbitrary filter field"
category = "I/O"
args =
{
	{
		name = "key",
		description = "The filter field used for grouping",
		argtype = "string"
	},
}

require "common"

local key_field = ""
local fkey, fnum, fname
-- key -> {fds = set of "NUMname", count}
local groups = {}

function on_set_arg(name, val)
	if name ~= "key" then return false end
	key_field = val
	return true
end

function on_init()
	fkey = chisel.request_field(key_field)
	fnum = chisel.request_field("fd.num")
	fname = chisel.request_field("fd.name")
	return true
end

function on_event()
	local k = evt.field(fkey)
	local num = evt.field(fnum)
	local name = evt.field(fname)
	if k == nil or num == nil or num <= 0 or name == nil or name == "" then
		return true
	end
	local g = groups[k]
	if g == nil then
		g = {fds = {}, count = 0}
		groups[k] = g
	end
	local id = tostring(num) .. name
	if not g.fds[id] then
		g.fds[id] = true
		g.count = g.count + 1
	end
	return true
end

function on_capture_end()
	for k, g in pairs_top_by_val(groups, 0, function(t, a, b) return t[b].count < t[a].count end) do
		print(k, g.count)
	end
	return true
end
