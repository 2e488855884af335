-- spy_users for sonde: the commands users run from shells, and the
-- directories they change to, indented by their depth below the login
-- shell. Written for sonde; same name, arguments and output as sysdig's
-- chisel.
description = "Lists every command that users launch interactively (e.g. from bash) and every directory users visit. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown. (Blue represents a process running within a container, and Green represents a host process)"
short_description = "Display interactive user activity"
category = "Security"
args =
{
	{
		name = "max_depth",
		description = "the maximum depth to show in the hierarchy of processes",
		argtype = "int",
		optional = true
	},
	{
		name = "disable_color",
		description = "Set to 'disable_colors' if you want to disable color output",
		argtype = "string",
		optional = true
	},
}

local top = require "sonde_top"
local c = top.colors
local ANCESTORS = 16
local max_depth = -1
local f = {}
local anames, apids = {}, {}
local with_container = false
-- every cd seen shifts the ancestor lookup of later events by one (as
-- sysdig's chisel does)
local shift = 0
-- pid -> {depth, pid of the shell at the root}
local tree = {}

function on_set_arg(name, val)
	if name == "max_depth" then
		max_depth = tonumber(val)
		if max_depth == nil then
			print(string.format("Input %s must be a number.", name))
			os.exit()
		end
	elseif name == "disable_color" and val == "disable_color" then
		top.no_colors()
	end
	return true
end

function on_init()
	for _, name in ipairs({"evt.type", "proc.exe", "proc.args", "evt.arg.path", "user.name",
			"evt.time.s", "proc.pid", "proc.ppid", "container.name", "container.id"}) do
		f[name] = chisel.request_field(name)
	end
	with_container = sysdig.is_print_container_data()
	chisel.set_filter("((evt.type=execve and evt.dir=<) or (evt.type=chdir and evt.dir=< and proc.name contains sh and not proc.name contains sshd)) and evt.failed=false")
	for j = 0, ANCESTORS do
		anames[j] = chisel.request_field("proc.aname[" .. j .. "]")
		apids[j] = chisel.request_field("proc.apid[" .. j .. "]")
	end
	return true
end

-- The shell above `ppid`'s process, found once per parent.
local function root_of(ppid)
	local node = {-1}
	for j = 1, ANCESTORS do
		local a = j - shift
		local aname = (a >= 0) and evt.field(anames[a]) or nil
		if aname == nil then
			if a < 0 or evt.field(apids[a]) == nil then break end
		elseif #aname >= 2 and aname:sub(-2) == "sh" then
			local apid = evt.field(apids[a])
			if tree[apid] then
				node = {j - 1, apid}
			else
				node = {0, apid}
			end
		end
	end
	return node
end

function on_event()
	local user = evt.field(f["user.name"]) or "<NA>"
	local when = evt.field(f["evt.time.s"])
	local pid = evt.field(f["proc.pid"])
	local ppid = evt.field(f["proc.ppid"])
	local cd = evt.field(f["evt.type"]) == "chdir"
	local cname = evt.field(f["container.name"])
	local corr = 1
	if cd then
		ppid = pid
		shift = shift + 1
		corr = 0
	end
	if not tree[ppid] then tree[ppid] = root_of(ppid) end
	if tree[ppid][1] == -1 then return true end
	if not tree[pid] then tree[pid] = {1 + tree[ppid][1], tree[ppid][2]} end
	local depth = tree[pid][1] - corr
	if max_depth ~= -1 and depth > max_depth then return true end
	local color = ""
	local who = user
	if with_container then
		color = (cname ~= "host") and c.blue or c.green
		who = user .. "@" .. tostring(cname)
	end
	local indent
	if cd or with_container then
		indent = string.rep(" ", 4 * depth)
	else
		indent = string.rep(" ", 3 * depth)
	end
	local what
	if cd then
		what = "cd " .. evt.field(f["evt.arg.path"])
	else
		what = evt.field(f["proc.exe"]) .. " " .. evt.field(f["proc.args"])
	end
	print(color .. indent .. tree[pid][2] .. " " .. when .. " " .. who .. ") " .. what)
	return true
end

function on_capture_end()
	print(c.reset)
end
