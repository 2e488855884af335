-- stdin for sonde: the data processes read or write on fd 0. Written for
-- sonde; same name, arguments and output as sysdig's chisel.
description = "Print the standard input of any process on screen. Combine this script with a filter to limit the output to a specific process or pid."
short_description = "Print stdin of processes"
category = "I/O"
args = {}

require("sonde_std").install(0)
