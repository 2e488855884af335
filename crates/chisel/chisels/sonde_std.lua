-- sonde_std for sonde: what stdin, stdout and stderr share, printing the
-- data of every I/O call on one fd number. Written for sonde.
local M = {}

-- Installs on_init and on_event printing the data read or written on fd
-- `num`; `show(buf)` prints one buffer (default: print).
function M.install(num, show)
	local fbuf
	local first_init = _G.on_init
	function _G.on_init()
		if first_init then first_init() end
		fbuf = chisel.request_field("evt.rawarg.data")
		sysdig.set_snaplen(2000)
		chisel.set_filter("fd.num=" .. num .. " and evt.is_io=true")
		return true
	end
	function _G.on_event()
		local buf = evt.field(fbuf)
		if buf ~= nil then (show or print)(buf) end
		return true
	end
end

return M
