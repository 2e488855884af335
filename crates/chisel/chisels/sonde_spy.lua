-- sonde_spy for sonde: what spy_ip and spy_port share, the payloads of
-- network I/O with a line each time the direction changes. Written for
-- sonde.
local M = {}

-- Installs on_init, on_event and on_capture_end for network I/O passing
-- `filter()` (called at init); `write_word` is what the direction line of
-- writes says.
function M.install(filter, write_word)
	local terminal = require "ansiterminal"
	terminal.enable_color(true)
	local fdata, fread, fres
	local last_dir, header
	function _G.on_init()
		fdata = chisel.request_field("evt.arg.data")
		fread = chisel.request_field("evt.is_io_read")
		fres = chisel.request_field("evt.rawarg.res")
		sysdig.set_snaplen(1000)
		chisel.set_filter("evt.is_io=true and (fd.type=ipv4 or fd.type=ipv6) and " .. filter())
		return true
	end
	function _G.on_event()
		local res = evt.field(fres)
		local data = evt.field(fdata)
		if res == nil or res <= 0 or data == nil then return true end
		-- the header is only rebuilt when the direction changes, so a run
		-- of calls in one direction repeats the first call's size
		if evt.field(fread) then
			if last_dir ~= "r" then
				header = terminal.red .. "------ Read " .. format_bytes(res)
				last_dir = "r"
			end
		elseif last_dir ~= "w" then
			header = terminal.blue .. "------ " .. write_word .. " " .. format_bytes(res)
			last_dir = "w"
		end
		print(header)
		print(data)
		return true
	end
	function _G.on_capture_end()
		print(terminal.reset)
	end
	-- colours off with the word disable_colors; any other value is accepted
	return function(val)
		if val == "disable_colors" then terminal.enable_color(false) end
	end
end

return M
