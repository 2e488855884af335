-- iobytes_file for sonde: bytes read and written on files, per second.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
description = "Counts the total bytes read from and written to files."
short_description = "Sum of file I/O bytes"
category = "I/O"
args = {}

require("sonde_top").io_totals("evt.is_io=true and fd.type=file")
