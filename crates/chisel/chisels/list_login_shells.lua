-- list_login_shells for sonde: the login shell ID of the sessions that ran
-- a (matching) command. Written for sonde; same name, arguments and
-- output as sysdig's chisel.
description = "List the IDs of the login sessions. Optionally, the list can be filtered to include only the sessions that contain a specific command. The session IDs listed by this chisel can be used as filters for the spy_users chisel. This chisel is compatible with containers using the sysdig -pc or -pcontainer argument, otherwise no container information will be shown."
short_description = "List the login shell IDs"
category = "Security"
args = {
	{name = "command", description = "If this parameter is specified, only the login shells that contain commands including the given string in their name will be listed. * will match any command name.",
	 argtype = "string", optional = true},
	{name = "arguments", description = "If this parameter is specified, only the login shells that contain commands including the given string in their arguments will be listed",
	 argtype = "string", optional = true},
}

local want_cmd, want_args
local h = {}
local with_container = false
-- sysdig's chisel keeps only the last matching session (its ID, container
-- name and ID) and prints it once per one of those three that is set
local last = nil

function on_set_arg(name, val)
	if name == "command" and val ~= "*" then
		want_cmd = val
	elseif name == "arguments" then
		want_args = val
	end
	return true
end

function on_init()
	for _, name in ipairs({"proc.loginshellid", "evt.arg.exe", "evt.arg.args", "container.name", "container.id"}) do
		h[name] = chisel.request_field(name)
	end
	with_container = sysdig.is_print_container_data()
	chisel.set_filter("evt.type=execve")
	return true
end

function on_event()
	local sid = evt.field(h["proc.loginshellid"])
	local exe = evt.field(h["evt.arg.exe"])
	if sid == nil or exe == nil then return true end
	if want_cmd and string.find(exe, want_cmd) == nil then return true end
	local a = evt.field(h["evt.arg.args"])
	if want_args and a and string.find(a, want_args) == nil then return true end
	last = {sid = sid, cname = evt.field(h["container.name"]), cid = evt.field(h["container.id"])}
	return true
end

function on_capture_end()
	if want_cmd then
		print("Shells containing " .. want_cmd .. ":")
	else
		print("All shells:")
	end
	if last == nil then return true end
	local times = 1 + (last.cname ~= nil and 1 or 0) + (last.cid ~= nil and 1 or 0)
	for _ = 1, times do
		if with_container then
			print(tostring(last.sid) .. " " .. tostring(last.cname) .. " " .. tostring(last.cid))
		else
			print(last.sid)
		end
	end
	return true
end
