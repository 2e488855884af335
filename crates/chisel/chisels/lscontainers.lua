-- lscontainers for sonde: the containers the capture knows of, with their
-- type, image, name and ID. Written for sonde; same name, arguments and
-- output as sysdig's chisel.
description = "List the running containers and the metadata"
short_description = "List the running containers"
category = "System State"
args = {
	{name = "desc", description = "Prints the result set as a data structure", argtype = "string", optional = true},
}

local util = require "sonde_util"
local as_struct = false
local started = false

function on_set_arg(name, val)
	if name == "desc" and val == "desc" then
		as_struct = true
		return true
	end
	return false
end

function on_capture_start()
	started = true
	return true
end

-- The container table is what the capture knows when its first event
-- arrives (as in sysdig's chisel).
function on_event()
	sysdig.end_capture()
	return true
end

local FIELDS = {"type", "id", "image", "name"}

local function print_struct(list)
	print("{")
	for i, ct in ipairs(list) do
		print(" " .. i .. " = {")
		for _, k in ipairs(FIELDS) do
			if ct[k] ~= nil then print("  " .. k .. " = " .. string.format("%q", ct[k]) .. ",") end
		end
		print(" },")
	end
	print("}")
end

function on_capture_end()
	if not started then return true end
	local list = sysdig.get_container_table()
	if as_struct then
		print_struct(list)
		return true
	end
	local cell = util.cell
	print(cell("container.type", 15) .. cell("container.image", 16) .. cell("container.name", 20) .. cell("container.id", 13))
	print(cell(string.rep("-", 15), 15) .. cell(string.rep("-", 16), 16) .. cell(string.rep("-", 20), 20) .. cell(string.rep("-", 13), 13))
	for _, ct in ipairs(list) do
		print(cell(tostring(ct.type), 15) .. cell(tostring(ct.image), 16) .. cell(tostring(ct.name), 20) .. cell(tostring(ct.id), 13))
	end
	return true
end
