-- sonde's helpers for its bundled chisels: colours, units and the top-N
-- tables the top* chisels print (through common's print_sorted_table, or
-- by handing over to table_generator). Written for sonde.
local M = {}

local ESC = string.char(27)

-- Colour codes, or empty strings once colours are off.
M.colors = {red = ESC .. "[31m", green = ESC .. "[32m", blue = ESC .. "[34m",
            cyan = ESC .. "[36m", reset = ESC .. "[0m"}

function M.no_colors()
	for k in pairs(M.colors) do M.colors[k] = "" end
end

require "common"
local terminal = require "ansiterminal"

-- A byte count in the largest unit it exceeds (common's format_bytes).
M.bytes = format_bytes

-- The key of an event: the first key field's value itself, several
-- joined with \001\001 (as table_generator builds them), or nil when one
-- has no value.
function M.key(handles)
	-- one key without the loop: called per event, a loop would be an
	-- inner loop of on_event, which LuaJIT then cannot compile whole
	if handles[2] == nil then return evt.field(handles[1]) end
	local key
	for i, h in ipairs(handles) do
		local v = evt.field(h)
		if v == nil then return nil end
		if i == 1 then key = v else key = key .. "\001\001" .. v end
	end
	return key
end

-- A top chisel computed in Lua (rather than through table_generator):
-- spec = keys, key_desc (field names and titles), value (field), value_desc,
-- filter, top, units (none, bytes, time, timepct), and optionally
-- accumulate(totals, key, value), value_name (the value's name in
-- JSON output, default `value`) and containers(spec) (changes the spec
-- for -pc/-pcontainer, at on_init). Prints like table_generator: every
-- second live (redrawing the screen unless -j), once at the end of a
-- file. Returns the callbacks to install as globals.
function M.table_chisel(spec)
	local cb = {}
	local handles, fvalue = {}, nil
	local totals = {}
	local live = false
	local view = {}

	function cb.on_init()
		-- the spec is read now: arguments may have changed it since, and
		-- -pc is known (a chisel's top level runs before the rest of the
		-- command line is read)
		if spec.containers and sysdig.is_print_container_data() then spec.containers(spec) end
		view = {key_fld = spec.keys, key_desc = spec.key_desc,
			value_fld = spec.value_name or spec.value, value_desc = spec.value_desc,
			value_units = spec.units, top_number = spec.top, output_format = "normal"}
		for i, name in ipairs(spec.keys) do handles[i] = chisel.request_field(name) end
		fvalue = chisel.request_field(spec.value)
		if spec.filter then chisel.set_filter(spec.filter) end
		return true
	end

	function cb.on_capture_start()
		live = sysdig.is_live()
		view.output_format = sysdig.get_output_format()
		if live then
			chisel.set_interval_s(1)
			if view.output_format ~= "json" then
				terminal.clearscreen()
				terminal.hidecursor()
			end
		end
		return true
	end

	function cb.on_event()
		local k = M.key(handles)
		if k == nil then return true end
		local v = evt.field(fvalue)
		if spec.accumulate then
			spec.accumulate(totals, k, v)
		elseif v ~= nil and v > 0 then
			totals[k] = (totals[k] or 0) + v
		end
		return true
	end

	local function redraw()
		if view.output_format ~= "json" then
			terminal.clearscreen()
			terminal.moveto(0, 0)
		end
	end

	function cb.on_interval(ts_s, ts_ns, delta)
		redraw()
		print_sorted_table(totals, ts_s, 0, delta, view)
		totals = {}
		return true
	end

	function cb.on_capture_end(ts_s, ts_ns, delta)
		if live and view.output_format ~= "json" then
			redraw()
			terminal.showcursor()
			return true
		end
		print_sorted_table(totals, ts_s, 0, delta, view)
		return true
	end

	return cb
end

-- The spec of a CPU table (topprocs_cpu, topcontainers_cpu) keyed by
-- `keys`: the CPU share procinfo events give each thread, summed per key
-- and shown as a percentage of the interval.
function M.cpu_spec(keys, key_desc)
	return {
		keys = keys,
		key_desc = key_desc,
		value = "thread.cpu",
		value_name = "thread.exectime",
		value_desc = "CPU%",
		filter = "evt.type=procinfo",
		top = 10,
		units = "timepct",
		-- thread.cpu is a share of the last sample: scaled as sysdig scales it
		accumulate = function(totals, k, cpu)
			if cpu == nil then return end
			totals[k] = (totals[k] or 0) + cpu * 10000000
		end,
	}
end

-- Installs a table chisel's callbacks as globals.
function M.install(cb)
	for name, f in pairs(cb) do _G[name] = f end
end

-- A top chisel that hands over to the table_generator chisel: `plain` and
-- (under -pc) `with_container` are {keys, key_desc, value, value_desc,
-- filter, top, units}, keys and descriptions comma-separated. Installs
-- on_set_arg and on_init as globals.
function M.exec_table(plain, with_container)
	function _G.on_set_arg()
		return false
	end
	function _G.on_init()
		local t = plain
		if with_container and sysdig.is_print_container_data() then
			t = with_container
		end
		chisel.exec("table_generator", t.keys, t.key_desc, t.value, t.value_desc, t.filter,
			tostring(t.top), t.units)
		return true
	end
end

-- A chisel printing, every second of the capture, the bytes read and
-- written on the fds that pass `filter` (`TIME in:N out:N tot:N`).
function M.io_totals(filter)
	local fbytes, ftime, fread
	local tin, tout = 0, 0
	function _G.on_init()
		fbytes = chisel.request_field("evt.rawarg.res")
		ftime = chisel.request_field("evt.time.s")
		fread = chisel.request_field("evt.is_io_read")
		chisel.set_filter(filter)
		chisel.set_interval_s(1)
		return true
	end
	function _G.on_event()
		local n = evt.field(fbytes)
		if n ~= nil and n > 0 then
			if evt.field(fread) then tin = tin + n else tout = tout + n end
		end
		return true
	end
	function _G.on_interval()
		print(evt.field(ftime) .. " in:" .. tin .. " out:" .. tout .. " tot:" .. (tin + tout))
		tin, tout = 0, 0
		return true
	end
end

return M
