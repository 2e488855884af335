-- iobytes for sonde: bytes read and written on every kind of fd, per
-- second. Written for sonde; same name, arguments and output as sysdig's
-- chisel.
description = "Counts the total bytes read from and written to any type of FD (disk, socket, pipe...) and prints the result every second."
short_description = "Sum of I/O bytes on any type of FD"
category = "I/O"
args = {}

require("sonde_top").io_totals("evt.is_io=true")
