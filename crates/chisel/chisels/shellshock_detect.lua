-- shellshock_detect for sonde: bash or sh started with a function
-- definition in its environment (CVE-2014-6271), with who started it.
-- Written for sonde; same name, arguments and output as sysdig's chisel
-- (whose filter sysdig 0.29.3 itself rejects; this one is bracketed).
description = "Reports every attempt to execute bash in a way that exploits the shellshock vulnerability (http://web.nvd.nist.gov/view/vuln/detail?vulnId=CVE-2014-6271). For every attempt, the chisel reports the time, the name of the process trying to run bash, and its PID."
short_description = "print shellshock attacks"
category = "Security"
args = {}

local util = require "sonde_util"
local cell = util.cell
local FUNC = "%(%) ?{.+"
local h = {}

function on_init()
	for _, name in ipairs({"proc.pname", "proc.ppid", "proc.pid", "evt.time"}) do
		h[name] = chisel.request_field(name)
	end
	-- the environment is the process's, once execve has returned
	chisel.set_filter("evt.type=execve and evt.dir=< and (proc.name=bash or proc.name=sh)")
	print(cell("TIME", 22) .. cell("PROCNAME", 22) .. cell("PID", 8) .. "FUNCTION")
	return true
end

function on_event()
	-- the variables one by one, whole (an event argument is cut at the
	-- snaplen)
	local t = sysdig.get_thread_table_nofds()[evt.field(h["proc.pid"])]
	if t == nil then return true end
	for _, v in ipairs(t.env) do
		if string.find(v, FUNC) then
			print(cell(evt.field(h["evt.time"]), 22) .. cell(tostring(evt.field(h["proc.pname"])), 22)
				.. cell(tostring(evt.field(h["proc.ppid"])), 8) .. string.match(v, "%(%).+"))
			break
		end
	end
	return true
end
