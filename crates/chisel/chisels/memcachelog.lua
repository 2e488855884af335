-- memcachelog for sonde: the get and set commands sent to memcached
-- (port 11211), with the object size and key. Written for sonde; same
-- name, arguments and output as sysdig's chisel.
description = "Show a log of memcached commands (get/set)"
short_description = "memcached requests log"
category = "Application"
args = {
	{name = "method", description = "get/set", optional = true},
	{name = "size", description = "object size", optional = true},
}

local util = require "sonde_util"
local want_method, min_size
local h = {}

function on_set_arg(name, val)
	if name == "method" then
		want_method = val
		return true
	elseif name == "size" then
		min_size = tonumber(val)
		return true
	end
	return false
end

function on_init()
	sysdig.set_filter("(fd.sport=11211 or proc.name=memcached) and evt.is_io=true")
	sysdig.set_snaplen(4096)
	h.data = chisel.request_field("evt.arg[1]")
	h.when = chisel.request_field("evt.datetime")
	return true
end

function on_event()
	local data = evt.field(h.data)
	if data == nil then return true end
	-- a command line: "get KEY" or "set KEY FLAGS EXPTIME BYTES"
	local words = util.split(tostring(data), " ")
	local method = words[1]
	if string.match(method, "^[gs]et") == nil or words[2] == nil then return true end
	local size = tonumber(words[5]) or 0
	if want_method ~= nil and want_method ~= method then return true end
	if want_method == "set" and size < (min_size or 0) then return true end
	print(string.format("%s method=%s size=%dB key=%s", evt.field(h.when), method, size, words[2]))
	return true
end
