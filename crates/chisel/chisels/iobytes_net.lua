-- iobytes_net for sonde: bytes read and written on network sockets, per
-- second. Written for sonde; same name, arguments and output as sysdig's
-- chisel.
description = "Counts the total bytes read from and written to the network, and prints the result every second"
short_description = "Show total network I/O bytes"
category = "Net"
args = {}

require("sonde_top").io_totals("evt.is_io=true and (fd.type=ipv4 or fd.type=ipv6)")
