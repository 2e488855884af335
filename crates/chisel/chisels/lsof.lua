-- lsof for sonde: the open fds of every thread at the capture's first
-- event. Written for sonde; same name, arguments and output as sysdig's
-- chisel.
description = "This chisel prints the open file descriptors for every process in the system, with an output that is similar to the one of lsof. Output is at a point in time; adjust this in the filter.  It defaults to time of evt.num=0"
short_description = "List (and optionally filter) the open file descriptors."
category = "System State"
args = {
	{name = "filter", description = "A sysdig-like filter expression that allows restricting the FD list. E.g. 'proc.name=foo and fd.name contains /etc'.",
	 argtype = "filter", optional = true},
}

local util = require "sonde_util"
local cell = util.cell

util.state_chisel(function(filter)
	local threads = sysdig.get_thread_table(filter)
	print(cell("COMMAND", 20) .. cell("PID", 8) .. cell("TID", 8) .. cell("USER", 8) .. cell("FD", 8)
		.. cell("TYPE", 12) .. "NAME")
	for _, tid in ipairs(util.num_keys(threads)) do
		local t = threads[tid]
		for _, fd in ipairs(util.num_keys(t.fdtable)) do
			local f = t.fdtable[fd]
			print(cell(t.comm, 20) .. cell(tostring(t.pid), 8) .. cell(tostring(tid), 8) .. cell(t.username, 8)
				.. cell(tostring(fd), 8) .. cell(tostring(f.type), 12) .. tostring(f.name))
		end
	end
end)
