-- dkjson-compatible JSON for sonde: the module sysdig's chisels `require`
-- as "dkjson" (json.encode with the indent/keyorder/level options,
-- json.decode, json.null, json.quotestring, json.addnewline,
-- json.use_lpeg). Written for sonde, in plain Lua (no LPeg needed).
local json = {version = "dkjson 2.5 (sonde)"}

local byte, char, find, fmt, sub, rep, gsub =
	string.byte, string.char, string.find, string.format, string.sub, string.rep, string.gsub
local floor, huge = math.floor, math.huge
local concat = table.concat

-- The value that encodes as `null` (decode gives nil unless told otherwise).
json.null = setmetatable({}, {__tojson = function() return "null" end})

local SHORT = {["\""] = "\\\"", ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
	["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t"}

-- \uXXXX (a surrogate pair above the BMP) for the UTF-8 sequence `s`.
local function uescape(s)
	if SHORT[s] then return SHORT[s] end
	local a, b, c, d = byte(s, 1, 4)
	b, c, d = b or 0, c or 0, d or 0
	local cp
	if a < 0x80 then
		cp = a
	elseif a >= 0xc0 and a < 0xe0 and b >= 0x80 then
		cp = (a - 0xc0) * 64 + (b - 0x80)
	elseif a >= 0xe0 and a < 0xf0 and b >= 0x80 and c >= 0x80 then
		cp = ((a - 0xe0) * 64 + (b - 0x80)) * 64 + (c - 0x80)
	elseif a >= 0xf0 and a < 0xf8 and b >= 0x80 and c >= 0x80 and d >= 0x80 then
		cp = (((a - 0xf0) * 64 + (b - 0x80)) * 64 + (c - 0x80)) * 64 + (d - 0x80)
	else
		return ""
	end
	if cp < 0x10000 then return fmt("\\u%.4x", cp) end
	if cp > 0x10ffff then return "" end
	cp = cp - 0x10000
	return fmt("\\u%.4x\\u%.4x", 0xd800 + floor(cp / 1024), 0xdc00 + cp % 1024)
end

-- Code points JavaScript treats as line breaks or invisible, escaped too.
local RISKY = {"\194[\128-\159\173]", "\216[\128-\132]", "\220\143", "\225\158[\180\181]",
	"\226\128[\140-\143\168-\175]", "\226\129[\160-\175]", "\239\187\191", "\239\191[\176-\191]"}

-- A Lua string as a JSON string literal.
function json.quotestring(s)
	s = gsub(s, "[%z\1-\31\"\\\127]", uescape)
	if find(s, "[\194\216\220\225\226\239]") then
		for _, p in ipairs(RISKY) do s = gsub(s, p, uescape) end
	end
	return "\"" .. s .. "\""
end
local quote = json.quotestring

-- Whether `t` encodes as an array (and its length): positive integer
-- keys only (an `n` field may give the length), not too sparse.
local function array_len(t)
	local max, count, n = 0, 0, 0
	for k, v in pairs(t) do
		if k == "n" and type(v) == "number" then
			n = v
			if v > max then max = v end
		elseif type(k) == "number" and k >= 1 and floor(k) == k then
			if k > max then max = k end
			count = count + 1
		else
			return nil
		end
	end
	if max > 10 and max > n and max > count * 2 then return nil end
	return max
end

local function newline(out, level)
	out[#out + 1] = "\n" .. rep("  ", level)
end

local encode_into

local function encode_pair(out, k, v, first, indent, level, seen, order)
	local kt = type(k)
	if kt ~= "string" and kt ~= "number" then
		error("type '" .. kt .. "' is not supported as a key by JSON.", 0)
	end
	if not first then out[#out + 1] = "," end
	if indent then newline(out, level) end
	out[#out + 1] = quote(tostring(k))
	out[#out + 1] = ":"
	encode_into(out, v, indent, level, seen, order)
end

local function encode_table(out, t, mt, indent, level, seen, order)
	if seen[t] then error("reference cycle", 0) end
	seen[t] = true
	level = level + 1
	local n = array_len(t)
	if n == 0 and mt and mt.__jsontype == "object" then n = nil end
	if n then
		out[#out + 1] = "["
		for i = 1, n do
			if i > 1 then out[#out + 1] = "," end
			encode_into(out, t[i], indent, level, seen, order)
		end
		out[#out + 1] = "]"
	else
		out[#out + 1] = "{"
		local first = true
		local keys = (mt and mt.__jsonorder) or order
		local done = {}
		if keys then
			for _, k in ipairs(keys) do
				local v = t[k]
				if v then
					done[k] = true
					encode_pair(out, k, v, first, indent, level, seen, order)
					first = false
				end
			end
		end
		for k, v in pairs(t) do
			if not done[k] then
				encode_pair(out, k, v, first, indent, level, seen, order)
				first = false
			end
		end
		if indent then newline(out, level - 1) end
		out[#out + 1] = "}"
	end
	seen[t] = nil
end

encode_into = function(out, v, indent, level, seen, order)
	local mt = getmetatable(v)
	if type(mt) ~= "table" then mt = nil end
	local t = type(v)
	if mt and mt.__tojson then
		if seen[v] then error("reference cycle", 0) end
		seen[v] = true
		local state = {indent = indent, level = level, buffer = out, bufferlen = #out,
			tables = seen, keyorder = order}
		local r, msg = mt.__tojson(v, state)
		if not r then error(msg, 0) end
		seen[v] = nil
		-- the function may have appended to the buffer itself
		for i = #out, (state.bufferlen or #out) + 1, -1 do out[i] = nil end
		if type(r) == "string" then out[#out + 1] = r end
	elseif v == nil then
		out[#out + 1] = "null"
	elseif t == "number" then
		if v ~= v or v >= huge or -v >= huge then
			out[#out + 1] = "null"
		else
			out[#out + 1] = (gsub(tostring(v), ",", "."))
		end
	elseif t == "boolean" then
		out[#out + 1] = v and "true" or "false"
	elseif t == "string" then
		out[#out + 1] = quote(v)
	elseif t == "table" then
		encode_table(out, v, mt, indent, level, seen, order)
	else
		error("type '" .. t .. "' is not supported by JSON.", 0)
	end
end

-- `value` as JSON text. state (optional): indent (newlines and two
-- spaces per level for objects), keyorder (keys written first, in that
-- order), level, and buffer/bufferlen to append to a table of strings
-- (then returns true).
function json.encode(value, state)
	state = state or {}
	local out = state.buffer or {}
	local start = state.bufferlen or #out
	for i = #out, start + 1, -1 do out[i] = nil end
	local ok, err = pcall(encode_into, out, value, state.indent, state.level or 0,
		state.tables or {}, state.keyorder)
	if not ok then error(err, 2) end
	if state.buffer then
		state.bufferlen = #out
		return true
	end
	return concat(out)
end

-- For __tojson functions: a newline and indentation into state.buffer.
function json.addnewline(state)
	if state.indent then
		local out = state.buffer
		local len = state.bufferlen or #out
		out[len + 1] = "\n" .. rep("  ", state.level or 0)
		state.bufferlen = len + 1
	end
end

-- Decoding ---------------------------------------------------------------

local function where(s, pos)
	local line, from = 1, 1
	while true do
		local a = find(s, "\n", from, true)
		if not a or a >= pos then break end
		line, from = line + 1, a + 1
	end
	return "line " .. line .. ", column " .. (pos - from + 1)
end

local function fail(s, pos, what)
	error({pos = pos, msg = what .. " at " .. where(s, pos)}, 0)
end

local function skip(s, pos)
	while true do
		pos = find(s, "[^ \t\r\n]", pos)
		if not pos then return nil end
		if sub(s, pos, pos + 1) == "//" then
			local e = find(s, "[\n\r]", pos)
			if not e then return nil end
			pos = e
		elseif sub(s, pos, pos + 1) == "/*" then
			local _, e = find(s, "*/", pos + 2, true)
			if not e then return nil end
			pos = e + 1
		else
			return pos
		end
	end
end

local function utf8(cp)
	if cp < 0x80 then return char(cp) end
	if cp < 0x800 then return char(0xc0 + floor(cp / 64), 0x80 + cp % 64) end
	if cp < 0x10000 then
		return char(0xe0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
	end
	return char(0xf0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64,
		0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

local UNESCAPE = {["\""] = "\"", ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f",
	n = "\n", r = "\r", t = "\t"}

local function read_string(s, pos)
	local parts = {}
	local i = pos + 1
	while true do
		local a = find(s, "[\"\\]", i)
		if not a then fail(s, pos, "unterminated string") end
		parts[#parts + 1] = sub(s, i, a - 1)
		if sub(s, a, a) == "\"" then return concat(parts), a + 1 end
		local e = sub(s, a + 1, a + 1)
		if e == "u" then
			local cp = tonumber(sub(s, a + 2, a + 5), 16)
			if not cp then fail(s, a, "invalid unicode escape") end
			i = a + 6
			if cp >= 0xd800 and cp < 0xdc00 and sub(s, i, i + 1) == "\\u" then
				local lo = tonumber(sub(s, i + 2, i + 5), 16)
				if lo and lo >= 0xdc00 and lo < 0xe000 then
					cp = 0x10000 + (cp - 0xd800) * 1024 + (lo - 0xdc00)
					i = i + 6
				end
			end
			parts[#parts + 1] = utf8(cp)
		else
			parts[#parts + 1] = UNESCAPE[e] or e
			i = a + 2
		end
	end
end

local read_value

local function read_list(s, pos, close, nullval, meta, is_object)
	local t, n = {}, 0
	if meta then setmetatable(t, meta) end
	pos = pos + 1
	while true do
		pos = skip(s, pos)
		if not pos then fail(s, #s + 1, "unterminated " .. (is_object and "object" or "array")) end
		local c = sub(s, pos, pos)
		if c == close then return t, pos + 1 end
		if c == "," then pos = skip(s, pos + 1) end
		if not pos then fail(s, #s + 1, "unterminated value") end
		local k
		if is_object then
			k, pos = read_value(s, pos, nullval, meta)
			pos = skip(s, pos)
			if not pos or sub(s, pos, pos) ~= ":" then fail(s, pos or #s + 1, "no ':' after key") end
			pos = pos + 1
		else
			n = n + 1
			k = n
		end
		local v
		v, pos = read_value(s, pos, nullval, meta)
		t[k] = v
	end
end

read_value = function(s, pos, nullval, meta)
	pos = skip(s, pos)
	if not pos then fail(s, #s + 1, "no valid JSON value") end
	local c = sub(s, pos, pos)
	if c == "{" then return read_list(s, pos, "}", nullval, meta and meta.object, true) end
	if c == "[" then return read_list(s, pos, "]", nullval, meta and meta.array, false) end
	if c == "\"" then return read_string(s, pos) end
	local num, e = string.match(s, "^(-?[%d%.]+[eE]?[-+]?%d*)()", pos)
	if num then
		local v = tonumber(num)
		if v then return v, e end
	end
	local word, we = string.match(s, "^(%a+)()", pos)
	if word == "true" then return true, we end
	if word == "false" then return false, we end
	if word == "null" then return nullval, we end
	fail(s, pos, "no valid JSON value")
end

-- The value encoded in `s` from `pos` (default 1) and the position after
-- it; on bad input nil, the position and a message. `nullval` stands for
-- null; the optional metatables mark decoded objects and arrays.
function json.decode(s, pos, nullval, objectmeta, arraymeta)
	local meta
	if objectmeta or arraymeta then
		meta = {object = objectmeta, array = arraymeta}
	end
	local ok, v, e = pcall(read_value, s, pos or 1, nullval, meta)
	if ok then return v, e end
	if type(v) == "table" then return nil, v.pos, v.msg end
	return nil, pos or 1, tostring(v)
end

-- dkjson swaps in LPeg here; sonde's decoder is used either way.
function json.use_lpeg()
	return json
end

return json
