-- sonde's shared helpers for its bundled performance, security, system
-- state, log and tracer chisels: fixed-width columns, time and byte
-- units, colours, sorted walks and top-N tables. Written for sonde.
local M = {}

local ESC = string.char(27)

-- Colour codes (empty strings once colours are turned off).
M.colors = {red = ESC .. "[31m", green = ESC .. "[32m", yellow = ESC .. "[33m",
	blue = ESC .. "[34m", magenta = ESC .. "[35m", cyan = ESC .. "[36m",
	reset = ESC .. "[0m"}

-- Turns every colour into the empty string.
function M.no_colors()
	for k in pairs(M.colors) do M.colors[k] = "" end
end

-- A fixed-width cell: `s` padded with spaces to `n`, or cut to n - 1
-- characters followed by one space.
function M.cell(s, n)
	s = tostring(s)
	local len = #s
	if len < n then
		return s .. string.rep(" ", n - len)
	end
	if n > 0 then
		return s:sub(1, n - 1) .. " "
	end
	return ""
end

local S, MS, US = 1000000000, 1000000, 1000

-- A duration in nanoseconds, in the unit that fits it (1.05s, 12ms,
-- 3.20ms, 15us, 1.50us, 800ns).
function M.duration(v)
	local fl = math.floor
	if v >= S then
		return string.format("%d.%02ds", fl(v / S), fl((v % S) / 10000000))
	elseif v >= S / 100 then
		return string.format("%dms", fl(v / MS))
	elseif v >= S / 1000 then
		return string.format("%d.%02dms", fl(v / MS), fl((v % MS) / 10000))
	elseif v >= S / 100000 then
		return string.format("%dus", fl(v / US))
	elseif v >= S / 1000000 then
		return string.format("%d.%02dus", fl(v / US), fl((v % US) / 10))
	end
	return string.format("%dns", v)
end

local KB = 1024

-- A byte count in the largest binary unit it exceeds (B, KB, M, G, T, P).
function M.bytes(v)
	local units = {{KB ^ 5, "P"}, {KB ^ 4, "T"}, {KB ^ 3, "G"}, {KB ^ 2, "M"}, {KB, "KB"}}
	for _, u in ipairs(units) do
		if v > u[1] then return string.format("%.2f%s", v / u[1], u[2]) end
	end
	return string.format("%dB", v)
end

-- The keys of `t` sorted with `less(t, a, b)`.
function M.sorted_keys(t, less)
	local keys = {}
	for k in pairs(t) do keys[#keys + 1] = k end
	table.sort(keys, function(a, b) return less(t, a, b) end)
	return keys
end

-- `s` cut at every occurrence of the plain text `sep`.
function M.split(s, sep)
	local out, from = {}, 1
	while true do
		local a, b = string.find(s, sep, from, true)
		if not a then
			out[#out + 1] = s:sub(from)
			return out
		end
		out[#out + 1] = s:sub(from, a - 1)
		from = b + 1
	end
end

-- A timestamp (seconds, nanoseconds) as one decimal string of nanoseconds.
function M.ts(s, ns)
	return string.format("%d%09d", s, ns)
end

M.SEP = "\001\001"

-- Prints a top table: `totals` maps joined keys to values. o: value_desc,
-- key_desc (list), units ("none", "bytes", "time", "timepct"), top (0:
-- all), delta (the sample's duration, for timepct).
function M.print_top(totals, o)
	local W = 20
	local head = M.cell(o.value_desc, W)
	for _, d in ipairs(o.key_desc) do head = head .. M.cell(d, W) end
	print(head)
	print(string.rep("-", 80))
	local keys = M.sorted_keys(totals, function(t, a, b) return t[b] < t[a] end)
	for i, k in ipairs(keys) do
		if o.top ~= 0 and i > o.top then break end
		local v = totals[k]
		local parts = M.split(k, M.SEP)
		local row = ""
		for j, p in ipairs(parts) do
			row = row .. ((j < #parts) and M.cell(p:sub(1, W), W) or p)
		end
		local shown
		if o.units == "bytes" then
			shown = M.bytes(v)
		elseif o.units == "time" then
			shown = M.duration(v)
		elseif o.units == "timepct" then
			shown = (o.delta > 0) and string.format("%.2f%%", v / o.delta * 100) or "0.00%"
		else
			shown = tostring(v)
		end
		print(M.cell(shown, W) .. row)
	end
end

-- Installs the callbacks of a top chisel: spec.keys, spec.key_desc,
-- spec.value (a field), spec.value_desc, spec.filter, spec.top,
-- spec.units. Values are summed per key when positive.
function M.top_chisel(spec)
	local hkeys, hval = {}, nil
	local totals = {}
	local live = false

	function _G.on_init()
		-- -pc is known now, not at the chisel's top level
		if spec.containers and sysdig.is_print_container_data() then spec.containers(spec) end
		for i, name in ipairs(spec.keys) do hkeys[i] = chisel.request_field(name) end
		hval = chisel.request_field(spec.value)
		if spec.filter and spec.filter ~= "" then chisel.set_filter(spec.filter) end
		return true
	end

	function _G.on_capture_start()
		live = sysdig.is_live()
		if live then chisel.set_interval_s(1) end
		return true
	end

	-- the key's text, or nil when a key field has no value (one key
	-- without a loop: an inner loop of on_event keeps LuaJIT from
	-- compiling it whole)
	local function key()
		if hkeys[2] == nil then
			local v = evt.field(hkeys[1])
			return v ~= nil and tostring(v) or nil
		end
		local parts = {}
		for i, h in ipairs(hkeys) do
			local v = evt.field(h)
			if v == nil then return nil end
			parts[i] = tostring(v)
		end
		return table.concat(parts, M.SEP)
	end

	function _G.on_event()
		local k = key()
		if k == nil then return true end
		local v = evt.field(hval)
		if v ~= nil and v > 0 then
			totals[k] = (totals[k] or 0) + v
		end
		return true
	end

	local function show(ts_s, delta)
		local o = {value_desc = spec.value_desc, key_desc = spec.key_desc, units = spec.units,
			top = spec.top, delta = delta, key_fld = spec.keys, value_fld = spec.value}
		if sysdig.get_output_format() == "json" then
			M.print_top_json(totals, o, ts_s)
		else
			M.print_top(totals, o)
		end
	end

	function _G.on_interval(ts_s, _, delta)
		show(ts_s, delta)
		totals = {}
		return true
	end

	function _G.on_capture_end(ts_s, _, delta)
		if not live then show(ts_s, delta) end
		return true
	end
end

-- HTTP over the I/O of IP and UNIX sockets: a request (method and URL,
-- prefixed with the Host header) opens a transaction on its (pid, fd);
-- the next response on that fd closes it. `http_start()` sets the filter,
-- snaplen and fields; `http_event(cb)` feeds one event and calls cb(tr)
-- for each finished transaction: tr.dir ("<", ">" or "<NA>"),
-- tr.container, tr.request {method, url, ts}, tr.response {code, length,
-- ts}; times are evt.rawtime values.
local http = {}

function M.http_start()
	chisel.set_filter("evt.is_io = true and evt.buflen > 0 and (fd.sockfamily = ip or fd.sockfamily = unix)")
	for _, name in ipairs({"evt.buffer", "fd.num", "proc.pid", "evt.rawtime", "evt.datetime", "evt.io_dir", "container.name"}) do
		http[name] = chisel.request_field(name)
	end
	sysdig.set_snaplen(1024)
	http.open = {}
end

-- The evt.datetime of the current event.
function M.http_datetime()
	return evt.field(http["evt.datetime"])
end

local function http_request(buf)
	local method, url = string.match(buf, "^(%u+) (%g+)")
	if not (method and url) then return nil end
	-- lines end in CR LF, which the buffer shows as two dots
	local host = string.match(buf, "Host: (%g+)%.%.")
	if host then url = host .. url end
	return {method = method, url = url}
end

local function http_response(buf)
	local code = string.match(buf, "HTTP/[%g]+ (%d+)")
	if not code then return nil end
	local len = string.match(buf, "Content%-Length: (%d+)%.%.")
	return {code = tonumber(code), length = tonumber(len or 0)}
end

function M.http_event(cb)
	local buf = evt.field(http["evt.buffer"])
	local key = string.format("%d\001\001%d", evt.field(http["proc.pid"]), evt.field(http["fd.num"]))
	local ts = evt.field(http["evt.rawtime"])
	local tr = http.open[key]
	if tr == nil then
		local req = http_request(buf)
		if req then
			req.ts = ts
			local d = evt.field(http["evt.io_dir"])
			local dir = (d == "read" and "<") or (d == "write" and ">") or "<NA>"
			http.open[key] = {request = req, dir = dir, container = evt.field(http["container.name"])}
		end
		return
	end
	local resp = http_response(buf)
	if resp then
		resp.ts = ts
		tr.response = resp
		cb(tr)
		http.open[key] = nil
	end
end

-- The number in `val`, or (as sysdig's chisels do) a message and exit.
function M.number_arg(val, name)
	local n = tonumber(val)
	if n == nil then
		print(string.format("Input %s must be a number.", name))
		os.exit()
	end
	return n
end

-- Installs the callbacks of a slow-I/O chisel (fileslower, netlower): the
-- I/O events `filter` accepts whose latency exceeds min_ms milliseconds,
-- one line each; `skip` (optional) returns true for fd names to leave out.
function M.slow_io(filter, skip)
	local h = {}
	local min_ms = nil
	local with_container = false
	local c = M.colors

	local function row(a)
		if with_container then
			return string.format("%-23.23s %-20.20s %-20.20s %-12.12s %-8s " .. a[7] .. " %s",
				a[1], a[2], a[3], a[4], a[5], a[6], a[8])
		end
		return string.format("%-23.23s %-12.12s %-8s " .. a[7] .. " %s", a[1], a[4], a[5], a[6], a[8])
	end

	function _G.on_set_arg(name, val)
		if name == "disable_color" and val == "disable_color" then
			M.no_colors()
		elseif name == "min_ms" then
			min_ms = M.number_arg(val, name)
		end
		return true
	end

	function _G.on_init()
		for _, name in ipairs({"evt.type", "evt.dir", "evt.datetime", "fd.name", "proc.name",
				"evt.latency", "container.name", "container.id"}) do
			h[name] = chisel.request_field(name)
		end
		with_container = sysdig.is_print_container_data()
		chisel.set_filter(filter)
		print(row({"evt.datetime", "container.id", "container.name", "proc.name", "evt.type",
			"LATENCY(ms)", "%-12s", "fd.name"}))
		print(row({string.rep("-", 23), string.rep("-", 30), string.rep("-", 30), string.rep("-", 12),
			string.rep("-", 8), string.rep("-", 12), "%-12s", string.rep("-", 41)}))
		return true
	end

	function _G.on_event()
		local lat = evt.field(h["evt.latency"]) / 1000000
		local name = evt.field(h["fd.name"])
		if evt.field(h["evt.dir"]) ~= "<" or not (lat > min_ms) then return true end
		if skip and skip(name) then return true end
		local cname = evt.field(h["container.name"])
		local color = (cname ~= "host") and c.blue or c.green
		print(color .. row({evt.field(h["evt.datetime"]), tostring(evt.field(h["container.id"])), tostring(cname),
			tostring(evt.field(h["proc.name"])), evt.field(h["evt.type"]), math.floor(lat), "%12d", tostring(name)}))
		return true
	end
end

-- Installs the callbacks of a state chisel (ps, lsof, netstat): the first
-- event ends the capture, and show(filter) prints the state then, or a
-- message when no event came. The chisel's one argument, `filter`,
-- restricts the thread table.
function M.state_chisel(show)
	local filter = nil
	local started, got = false, false

	function _G.on_set_arg(name, val)
		if name == "filter" then
			filter = val
			return true
		end
		return false
	end

	function _G.on_capture_start()
		started = true
		return true
	end

	function _G.on_event()
		sysdig.end_capture()
		got = true
		return false
	end

	function _G.on_capture_end()
		if not started then return true end
		if not got then
			print("empty capture or no event matching the filter")
			return true
		end
		show(filter)
		return true
	end
end

-- The numeric keys of `t`, ascending.
function M.num_keys(t)
	local keys = {}
	for k in pairs(t) do keys[#keys + 1] = k end
	table.sort(keys)
	return keys
end

-- Export of the events around chosen ones (around, spy_logs, spy_syslog):
-- `mark()` remembers the current event's time and thread; `write(file,
-- range_ms)` runs this program again on the capture file to write, to
-- `file`, the events of those threads within range_ms of each mark.
function M.exporter(tid_field)
	local x = {marks = {}}

	function x.mark()
		local s, ns = evt.get_ts()
		x.marks[#x.marks + 1] = {M.ts(s, ns), evt.field(tid_field)}
	end

	-- The command line of the export.
	function x.command(file, range_ms)
		local parts = {}
		for i, m in ipairs(x.marks) do
			parts[i] = "(evt.around[" .. m[1] .. "]=" .. range_ms .. " and thread.tid=" .. m[2] .. ")"
		end
		return "-F -r" .. sysdig.get_evtsource_name() .. " -w" .. file .. " " .. table.concat(parts, " or ")
	end

	function x.write(file, range_ms)
		return sysdig.run_app(x.command(file, range_ms))
	end

	return x
end

local JSON_ESC = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
	["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t"}

-- A JSON string literal.
function M.json_string(v)
	return '"' .. string.gsub(tostring(v), '[%z\1-\31"\\\127]', function(ch)
		return JSON_ESC[ch] or string.format("\\u%.4x", string.byte(ch))
	end) .. '"'
end

-- A JSON scalar: numbers as Lua prints them, strings quoted, nil as null.
local function json_scalar(v)
	if v == nil then return "null" end
	if type(v) == "number" then
		if v ~= v or v == math.huge or v == -math.huge then return "null" end
		return tostring(v)
	end
	if type(v) == "boolean" then return tostring(v) end
	return M.json_string(v)
end

-- Prints a top table as the JSON document sysdig's -j prints: the sample
-- time, the rows (key values, then the value) and the columns (the key
-- fields, with the value's description always third).
function M.print_top_json(totals, o, ts_s)
	local keys = M.sorted_keys(totals, function(t, a, b) return t[b] < t[a] end)
	local rows = {}
	for i, k in ipairs(keys) do
		if o.top ~= 0 and i > o.top then break end
		local cells = {}
		for j, p in ipairs(M.split(k, M.SEP)) do cells[j] = M.json_string(p) end
		cells[#cells + 1] = json_scalar(totals[k])
		rows[#rows + 1] = "[" .. table.concat(cells, ",") .. "]"
	end
	local info = {}
	for i, name in ipairs(o.key_fld) do
		info[i] = {name = name, desc = o.key_desc[i], is_key = true}
	end
	info[3] = {name = o.value_fld, desc = o.value_desc, is_key = false}
	local cols = {}
	for i = 1, 3 do
		local c = info[i]
		if c == nil then
			cols[i] = "null"
		else
			cols[i] = "{\n      \"is_key\":" .. tostring(c.is_key) .. ",\n      \"desc\":" .. json_scalar(c.desc)
				.. ",\n      \"name\":" .. json_scalar(c.name) .. "\n    }"
		end
	end
	print("{\n  \"ts\":" .. M.json_string(sysdig.make_ts(ts_s, 0)) .. ",\n  \"data\":[" .. table.concat(rows, ",")
		.. "],\n  \"info\":[" .. table.concat(cols, ",") .. "]\n}")
end

return M
