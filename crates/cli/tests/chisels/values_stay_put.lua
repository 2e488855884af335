description = 'k'
short_description = 'k'
category = 'misc'
args = {}
require "common"
local f = {}
local bad, n = 0, 0
function on_init()
  for _, name in ipairs({'evt.arg.data', 'fd.name', 'evt.is_io_write', 'proc.pid', 'proc.name', 'evt.rawarg.res', 'evt.time'}) do
    f[name] = chisel.request_field(name)
  end
  sysdig.set_output_format('ascii')
  chisel.set_filter('evt.is_io=true and fd.type=file and evt.dir=< and evt.failed=false')
  return true
end
function on_event()
  local dir = 'R'
  if evt.field(f['evt.is_io_write']) == true then dir = 'W' end
  -- each value is an argument of one call: it stays live across the calls after it
  local together = string.format('%s %s(%s) %s %s %s %s', evt.field(f['evt.time']), evt.field(f['proc.name']),
    evt.field(f['proc.pid']), dir, format_bytes(evt.field(f['evt.rawarg.res'])),
    evt.field(f['fd.name']), evt.field(f['evt.arg.data']))
  local t = tostring(evt.field(f['evt.time']))
  local name = tostring(evt.field(f['proc.name']))
  local pid = tostring(evt.field(f['proc.pid']))
  local res = format_bytes(evt.field(f['evt.rawarg.res']))
  local fd = tostring(evt.field(f['fd.name']))
  local data = tostring(evt.field(f['evt.arg.data']))
  n = n + 1
  if together ~= string.format('%s %s(%s) %s %s %s %s', t, name, pid, dir, res, fd, data) then bad = bad + 1 end
  return true
end
function on_capture_end() print('events=' .. n .. ' differ=' .. bad) end
