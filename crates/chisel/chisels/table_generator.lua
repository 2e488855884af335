-- table_generator for sonde: the hidden chisel the top* chisels hand over
-- to with chisel.exec: sums a value field per key (one or more fields)
-- and prints the table sorted by value, every second live, at the end
-- for a file. Written for sonde; same name, arguments and output as the
-- chisel sysdig's top* chisels exec.
description = "Given two filter fields, a key and a value, this chisel creates and renders a table to the screen."
short_description = "Filter on a key and value"
category = "Filter"
hidden = true

args =
{
	{name = "keys", description = "comma-separated list of filter fields to use for grouping", argtype = "string"},
	{name = "keydescs", description = "comma separated list of human readable descriptions for the key", argtype = "string"},
	{name = "value", description = "the value to count for every key", argtype = "string"},
	{name = "valuedesc", description = "human readable description for the value", argtype = "string"},
	{name = "filter", description = "the filter to apply", argtype = "string"},
	{name = "top_number", description = "maximum number of elements to display", argtype = "string"},
	{name = "value_units", description = "how to render the values in the result. Can be 'bytes', 'time', 'timepct', or 'none'.", argtype = "string"},
}

require "common"
local terminal = require "ansiterminal"
local top = require "sonde_top"

local view = {key_fld = {}, key_desc = {}, value_fld = "", value_desc = "",
	value_units = "none", top_number = 0, output_format = "normal"}
local filter = ""
local live = false
local key_handles, value_handle = {}, nil
local totals = {}

local SETTERS = {
	keys = function(v) view.key_fld = split(v, ",") end,
	keydescs = function(v) view.key_desc = split(v, ",") end,
	value = function(v) view.value_fld = v end,
	valuedesc = function(v) view.value_desc = v end,
	filter = function(v) filter = v end,
	top_number = function(v) view.top_number = tonumber(v) end,
	value_units = function(v) view.value_units = v end,
}

function on_set_arg(name, val)
	local set = SETTERS[name]
	if not set then return false end
	set(val)
	return true
end

function on_init()
	if #view.key_fld ~= #view.key_desc then
		print("error: number of entries in keys different from number entries in keydescs")
		return false
	end
	for i, name in ipairs(view.key_fld) do
		key_handles[i] = chisel.request_field(name)
	end
	value_handle = chisel.request_field(view.value_fld)
	if filter ~= "" then chisel.set_filter(filter) end
	return true
end

function on_capture_start()
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

function on_event()
	-- the key: the first field's value itself, more joined by \001\001
	local key = top.key(key_handles)
	if key == nil then return end
	local v = evt.field(value_handle)
	if v ~= nil and v > 0 then
		totals[key] = (totals[key] or 0) + v
	end
	return true
end

local function redraw()
	if view.output_format ~= "json" then
		terminal.clearscreen()
		terminal.moveto(0, 0)
	end
end

function on_interval(ts_s, ts_ns, delta)
	redraw()
	print_sorted_table(totals, ts_s, 0, delta, view)
	totals = {}
	return true
end

function on_capture_end(ts_s, ts_ns, delta)
	if live and view.output_format ~= "json" then
		redraw()
		terminal.showcursor()
		return true
	end
	print_sorted_table(totals, ts_s, 0, delta, view)
	return true
end
