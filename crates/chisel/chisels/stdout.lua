-- stdout for sonde: the data processes read or write on fd 1. Written for
-- sonde; same name, arguments and output as sysdig's chisel.
description = "Print the standard output of any process on screen. Combine this script with a filter to limit the output to a specific process or pid."
short_description = "Print stdout of processes"
category = "I/O"
args = {}

require("sonde_std").install(1)
