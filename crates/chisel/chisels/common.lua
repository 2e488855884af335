-- common for sonde: the helper functions sysdig's chisels expect as
-- globals after `require "common"` (padding, units, sorting, the top-N
-- table printer, argument checks, table copies). Written for sonde; each
-- function behaves as the one of the same name chisels were written
-- against.

json = require "dkjson"

ONE_S_IN_NS = 1000000000
ONE_MS_IN_NS = 1000000
ONE_US_IN_NS = 1000

-- A readable dump of any value: tables as nested `{ name = value, }`.
function st(val, name, skipnewlines, depth)
	depth = depth or 0
	local nl = skipnewlines and "" or "\n"
	local out = {string.rep(" ", depth)}
	if name then out[#out + 1] = name .. " = " end
	local t = type(val)
	if t == "table" then
		out[#out + 1] = "{" .. nl
		for k, v in pairs(val) do
			out[#out + 1] = st(v, k, skipnewlines, depth + 1) .. "," .. nl
		end
		out[#out + 1] = string.rep(" ", depth) .. "}"
	elseif t == "number" then
		out[#out + 1] = tostring(val)
	elseif t == "string" then
		out[#out + 1] = string.format("%q", val)
	elseif t == "boolean" then
		out[#out + 1] = tostring(val)
	else
		out[#out + 1] = "\"[inserializeable datatype:" .. t .. "]\""
	end
	return table.concat(out)
end

-- The padding extend_string adds is at most this long.
local MAX_PAD = 167

-- `s` as a column of `newlen` characters: padded with spaces (by at most
-- MAX_PAD), or cut to newlen - 1 characters and one space.
function extend_string(s, newlen)
	local len = #s
	if len < newlen then
		return s .. string.rep(" ", math.min(newlen - len, MAX_PAD))
	end
	if newlen <= 0 then return "" end
	return s:sub(1, newlen - 1) .. " "
end

-- The pieces of `s` between occurrences of `delimiter` (a Lua pattern).
function split(s, delimiter)
	local parts = {}
	for piece in (s .. delimiter):gmatch("(.-)" .. delimiter) do
		parts[#parts + 1] = piece
	end
	return parts
end

function starts_with(str, prefix)
	return prefix == "" or str:sub(1, #prefix) == prefix
end

function ends_with(str, suffix)
	return suffix == "" or str:sub(-#suffix) == suffix
end

-- A byte count in the largest binary unit it exceeds: 512B, 1.50KB,
-- 2.00M, ... (a chain of tests, not a loop over the units: a loop here
-- would be an inner loop of every on_event that calls it, which LuaJIT
-- then cannot compile as one trace)
local KB, MB, GB, TB, PB = 1024, 1024 ^ 2, 1024 ^ 3, 1024 ^ 4, 1024 ^ 5
function format_bytes(val)
	if val > PB then
		return string.format("%.2fP", val / PB)
	elseif val > TB then
		return string.format("%.2fT", val / TB)
	elseif val > GB then
		return string.format("%.2fG", val / GB)
	elseif val > MB then
		return string.format("%.2fM", val / MB)
	elseif val > KB then
		return string.format("%.2fKB", val / KB)
	end
	return string.format("%dB", val)
end

-- A duration in ns as s, ms, us or ns, with two decimals below a step of
-- the unit: 1.10s, 250ms, 1.50ms, 30us, 1.20us, 800ns.
function format_time_interval(val)
	local floor = math.floor
	if val >= ONE_S_IN_NS then
		return string.format("%u.%02us", floor(val / ONE_S_IN_NS),
			floor((val % ONE_S_IN_NS) / 10000000))
	elseif val >= ONE_S_IN_NS / 100 then
		return string.format("%ums", floor(val / ONE_MS_IN_NS))
	elseif val >= ONE_MS_IN_NS then
		return string.format("%u.%02ums", floor(val / ONE_MS_IN_NS),
			floor((val % ONE_MS_IN_NS) / 10000))
	elseif val >= 10 * ONE_US_IN_NS then
		return string.format("%uus", floor(val / ONE_US_IN_NS))
	elseif val >= ONE_US_IN_NS then
		return string.format("%u.%02uus", floor(val / ONE_US_IN_NS),
			floor((val % ONE_US_IN_NS) / 10))
	end
	return string.format("%uns", val)
end

-- An iterator over the `num` first (key, value) of `t` (all when num is
-- 0), keys sorted with order(t, a, b).
function pairs_top_by_val(t, num, order)
	local keys = {}
	for k in pairs(t) do keys[#keys + 1] = k end
	table.sort(keys, function(a, b) return order(t, a, b) end)
	local i = 0
	return function()
		i = i + 1
		local k = keys[i]
		if k ~= nil and (num == 0 or i <= num) then
			return k, t[k]
		end
	end
end

-- A timestamp in ns from its seconds and nanoseconds.
function ts_to_str(tshi, tslo)
	return string.format("%u%.9u", tshi, tslo)
end

local KEYSEP = "\001\001"
local COLUMN = 20

local function print_json_table(sorted, ts_s, ts_ns, viz_info)
	local rows = {}
	for k, v in sorted do
		local row = split(k, KEYSEP)
		row[#row + 1] = v
		rows[#rows + 1] = row
	end
	local info = {}
	for i, name in ipairs(viz_info.key_fld) do
		info[i] = {name = name, desc = viz_info.key_desc[i], is_key = true}
	end
	-- the value's column is the third whatever the number of keys
	info[3] = {name = viz_info.value_fld, desc = viz_info.value_desc, is_key = false}
	print(json.encode({ts = sysdig.make_ts(ts_s, ts_ns), data = rows, info = info},
		{indent = true}))
end

local function shown_value(v, units, timedelta)
	if units == "none" then return tostring(v) end
	if units == "bytes" then return format_bytes(v) end
	if units == "time" then return format_time_interval(v) end
	if units == "timepct" then
		if timedelta > 0 then
			return string.format("%.2f%%", v / timedelta * 100)
		end
		return "0.00%"
	end
	return nil
end

-- Prints a table of key -> value (keys joined with \001\001) sorted by
-- value, largest first, as text columns or (output_format "json") as
-- JSON. viz_info: key_fld, key_desc, value_fld, value_desc, value_units
-- (none, bytes, time, timepct), top_number (0: all), output_format.
function print_sorted_table(stable, ts_s, ts_ns, timedelta, viz_info)
	local sorted = pairs_top_by_val(stable, viz_info.top_number,
		function(t, a, b) return t[b] < t[a] end)
	if viz_info.output_format == "json" then
		return print_json_table(sorted, ts_s, ts_ns, viz_info)
	end
	local header = extend_string(viz_info.value_desc, COLUMN)
	for _, desc in ipairs(viz_info.key_desc) do
		header = header .. extend_string(desc, COLUMN)
	end
	print(header)
	print(string.rep("-", 80))
	for k, v in sorted do
		local cells = split(k, KEYSEP)
		local line = {}
		for i, cell in ipairs(cells) do
			if i < #cells then
				line[i] = extend_string(cell:sub(1, COLUMN), COLUMN)
			else
				line[i] = cell
			end
		end
		local shown = shown_value(v, viz_info.value_units, timedelta)
		if shown then
			print(extend_string(shown, COLUMN) .. table.concat(line))
		end
	end
end

-- tonumber(value), or a message naming the argument and the end of the
-- program when it is not a number.
function parse_numeric_input(value, name)
	local n = tonumber(value)
	if n == nil then
		print(string.format("Input %s must be a number.", name))
		os.exit()
	end
	return n
end

-- A deep copy of `orig` (keys, values and metatables copied too).
function copytable(orig)
	if type(orig) ~= "table" then return orig end
	local copy = {}
	for k, v in next, orig, nil do
		copy[copytable(k)] = copytable(v)
	end
	return setmetatable(copy, copytable(getmetatable(orig)))
end

-- Appends the array part of `src` to `dst`, returns dst.
function concattable(dst, src)
	for i = 1, #src do dst[#dst + 1] = src[i] end
	return dst
end

-- type(var), or the `_NAME` of a table's or userdata's metatable.
function typeof(var)
	local t = type(var)
	if t == "table" or t == "userdata" then
		local mt = getmetatable(var)
		if mt ~= nil and mt._NAME ~= nil then return mt._NAME end
	end
	return t
end

return true
