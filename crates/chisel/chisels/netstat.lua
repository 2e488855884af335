-- netstat for sonde: the IPv4 and IPv6 sockets open at the capture's
-- first event, listening or connected. Written for sonde; same name,
-- arguments and output as sysdig's chisel (whose rows come in the order
-- of a hash walk; here they are sorted by thread and fd).
description = "Print the system network connections, with an output that is similar to the one of netstat. Output is at a point in time; adjust this in the filter. It defaults to time of evt.num=0"
short_description = "List (and optionally filter) network connections."
category = "System State"
args = {
	{name = "filter", description = "A sysdig-like filter expression that allows restricting the FD list. E.g. 'proc.name=foo and fd.port=80'.",
	 argtype = "filter", optional = true},
}

local util = require "sonde_util"
local cell = util.cell
local BASE = "(fd.type=ipv4 or fd.type=ipv6)"

util.state_chisel(function(filter)
	-- the user's filter narrows the IP sockets (joined as sysdig joins it)
	local f = BASE
	if filter then f = BASE .. "and (" .. filter .. ")" end
	local threads = sysdig.get_thread_table(f)
	print(cell("Proto", 6) .. cell("Server Address", 25) .. cell("Client Address", 25) .. cell("State", 15)
		.. "TID/PID/Program Name")
	for _, tid in ipairs(util.num_keys(threads)) do
		local t = threads[tid]
		for _, fd in ipairs(util.num_keys(t.fdtable)) do
			local s = t.fdtable[fd]
			local client, state = "0.0.0.0:*", "LISTEN"
			if s.cip ~= nil then
				client, state = s.cip .. ":" .. s.cport, "ESTABLISHED"
			end
			print(cell(s.l4proto, 6) .. cell(s.sip .. ":" .. s.sport, 25) .. cell(client, 25) .. cell(state, 15)
				.. tid .. "/" .. t.pid .. "/" .. t.comm)
		end
	end
end)
