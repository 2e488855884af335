-- sonde's helpers for its bundled chisels: column padding, units, colours
-- and the top-N tables the top* chisels print. Written for sonde.
local M = {}

local ESC = string.char(27)

-- Colour codes, or empty strings once colours are off.
M.colors = {red = ESC .. "[31m", green = ESC .. "[32m", blue = ESC .. "[34m",
            cyan = ESC .. "[36m", reset = ESC .. "[0m"}

function M.no_colors()
	for k in pairs(M.colors) do M.colors[k] = "" end
end

-- A column of width n: padded with spaces, or cut to n - 1 characters
-- and a space.
function M.column(s, n)
	s = tostring(s)
	if #s < n then
		return s .. string.rep(" ", n - #s)
	elseif n > 0 then
		return s:sub(1, n - 1) .. " "
	end
	return ""
end

local KB, MB, GB, TB, PB = 1024, 1024 ^ 2, 1024 ^ 3, 1024 ^ 4, 1024 ^ 5

-- A byte count in the largest unit it exceeds.
function M.bytes(v)
	if v > PB then return string.format("%.2fP", v / PB) end
	if v > TB then return string.format("%.2fT", v / TB) end
	if v > GB then return string.format("%.2fG", v / GB) end
	if v > MB then return string.format("%.2fM", v / MB) end
	if v > KB then return string.format("%.2fKB", v / KB) end
	return string.format("%dB", v)
end

local SEP = "\001\001"

-- The key of an event: its key fields' values joined, or nil when one has
-- no value.
function M.key(handles)
	local parts = {}
	for i, h in ipairs(handles) do
		local v = evt.field(h)
		if v == nil then return nil end
		parts[i] = tostring(v)
	end
	return table.concat(parts, SEP)
end

local function split(s)
	local out = {}
	local from = 1
	while true do
		local a, b = string.find(s, SEP, from, true)
		if not a then
			out[#out + 1] = s:sub(from)
			return out
		end
		out[#out + 1] = s:sub(from, a - 1)
		from = b + 1
	end
end

-- Prints `totals` (key -> value) as a table, largest values first, at
-- most `spec.top` rows (0: all). spec: value_desc, key_desc (list),
-- units ("bytes", "timepct", "none"), top, delta (for timepct).
function M.print_table(totals, spec)
	local W = 20
	local header = M.column(spec.value_desc, W)
	for _, d in ipairs(spec.key_desc) do header = header .. M.column(d, W) end
	print(header)
	print(string.rep("-", 80))
	local keys = {}
	for k in pairs(totals) do keys[#keys + 1] = k end
	table.sort(keys, function(a, b) return totals[a] > totals[b] end)
	for i, k in ipairs(keys) do
		if spec.top ~= 0 and i > spec.top then break end
		local v = totals[k]
		local cells = split(k)
		local line = ""
		for j, c in ipairs(cells) do
			if j < #cells then
				line = line .. M.column(c:sub(1, W), W)
			else
				line = line .. c
			end
		end
		local shown
		if spec.units == "bytes" then
			shown = M.bytes(v)
		elseif spec.units == "timepct" then
			if spec.delta > 0 then
				shown = string.format("%.2f%%", v / spec.delta * 100)
			else
				shown = "0.00%"
			end
		else
			shown = tostring(v)
		end
		print(M.column(shown, W) .. line)
	end
end

-- A top chisel over fields: keys (names), key_desc, value field, filter,
-- top, units. Returns the callbacks to install as globals.
function M.table_chisel(spec)
	local cb = {}
	local handles, fvalue = {}, nil
	local totals = {}
	local live = false

	function cb.on_init()
		for i, name in ipairs(spec.keys) do handles[i] = chisel.request_field(name) end
		fvalue = chisel.request_field(spec.value)
		if spec.filter then chisel.set_filter(spec.filter) end
		return true
	end

	function cb.on_capture_start()
		live = sysdig.is_live()
		if live then chisel.set_interval_s(1) end
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

	local function show(delta)
		M.print_table(totals, {value_desc = spec.value_desc, key_desc = spec.key_desc,
			units = spec.units, top = spec.top, delta = delta})
	end

	function cb.on_interval(ts_s, ts_ns, delta)
		show(delta)
		totals = {}
		return true
	end

	function cb.on_capture_end(ts_s, ts_ns, delta)
		if not live then show(delta) end
		return true
	end

	return cb
end

-- Installs a table chisel's callbacks as globals.
function M.install(cb)
	for name, f in pairs(cb) do _G[name] = f end
end

return M
