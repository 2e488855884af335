-- httplog for sonde: one line per HTTP request and its response. Written
-- for sonde; same name, arguments and output as sysdig's chisel.
description = "Show a log of all HTTP requests"
short_description = "HTTP requests log"
category = "Application"
args = {}

local util = require "sonde_util"
local with_container = false

function on_init()
	util.http_start()
	with_container = sysdig.is_print_container_data()
	return true
end

local function log(tr)
	local sep = with_container and (" " .. tostring(tr.container) .. " ") or " "
	print(string.format("%s%s%s method=%s url=%s response_code=%d latency=%dms size=%dB",
		util.http_datetime(), sep, tr.dir, tr.request.method, tr.request.url, tr.response.code,
		math.floor((tr.response.ts - tr.request.ts) / 1000000), tr.response.length))
end

function on_event()
	util.http_event(log)
	return true
end
