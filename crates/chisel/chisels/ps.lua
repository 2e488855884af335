-- ps for sonde: the processes (threads) of the machine at the capture's
-- first event, with user, memory and fd limit. Written for sonde; same
-- name, arguments and output as sysdig's chisel.
description = "List the running processes, with an output that is similar to the one of ps. Output is at a point in time; adjust this in the filter. It defaults to time of evt.num=0"
short_description = "List (and optionally filter) the machine processes."
category = "System State"
args = {
	{name = "filter", description = "A sysdig-like filter expression that allows restricting the FD list. For example 'fd.name contains /etc' shows all the processes that have files open under /etc.",
	 argtype = "filter", optional = true},
}

local util = require "sonde_util"
local cell = util.cell

util.state_chisel(function(filter)
	local threads = sysdig.get_thread_table(filter)
	print(cell("TID", 8) .. cell("PID", 8) .. cell("USER", 12) .. cell("VIRT", 11) .. cell("RES", 11)
		.. cell("FDLIMIT", 10) .. cell("CMD", 20))
	for _, tid in ipairs(util.num_keys(threads)) do
		local t = threads[tid]
		print(cell(tostring(tid), 8) .. cell(tostring(t.pid), 8) .. cell(t.username, 12)
			.. cell(util.bytes(t.vmsize_kb * 1024), 11) .. cell(util.bytes(t.vmrss_kb * 1024), 11)
			.. cell(tostring(t.fdlimit), 10) .. t.comm)
	end
end)
