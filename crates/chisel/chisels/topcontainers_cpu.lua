-- topcontainers_cpu for sonde: the containers that used the most CPU.
-- Written for sonde; same name, arguments and output as sysdig's chisel.
description = "Show the top containers defined by the highest CPU utilization."
short_description = "Top containers by CPU usage"
category = "CPU Usage"
args = {}

local top = require "sonde_top"

top.install(top.table_chisel(top.cpu_spec({"container.name"}, {"container.name"})))
