-- udp_extract for sonde: the data of every UDP fd of a capture file,
-- one file per fd in ./udp_dump_files, named after the fd's tuple (':'
-- becomes '_', '>' becomes '-'). Written for sonde; same name, arguments
-- and output as sysdig's chisel.
local DIR = "./udp_dump_files"
description = "This chisel parses a trace file, identifies file descriptors carrying UDP network traffic (DNS excluded) and dumps the content of each FD into a different file in the " .. DIR .. " directory. Files are named after the UDP tuple they contain."
short_description = "extract data from UDP streams to files."
category = "I/O"
args = {}

local fbuf, fname
-- fd name -> open file
local files = {}

function on_init()
	fbuf = chisel.request_field("evt.rawarg.data")
	fname = chisel.request_field("fd.name")
	os.execute("mkdir -p " .. DIR .. " 2> /dev/null")
	sysdig.set_snaplen(16384)
	chisel.set_filter("evt.dir=< and evt.rawres>=0 and fd.l4proto=udp and evt.is_io=true")
	return true
end

function on_capture_start()
	if sysdig.is_live() then
		print("live capture not supported")
		return false
	end
	return true
end

function on_event()
	local name = evt.field(fname)
	local out = files[name]
	if not out then
		local path = (DIR .. "/" .. name):gsub(":", "_"):gsub(">", "-")
		out = io.open(path, "w")
		files[name] = out
	end
	out:write(evt.field(fbuf))
	return true
end

function on_capture_end()
	for _, out in pairs(files) do out:close() end
	return true
end
