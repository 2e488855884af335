-- sonde_heat for sonde: the heat-map rows spectrogram and subsecoffset
-- draw on a 256-colour terminal, one character cell per bucket, coloured
-- by how many calls per second fell in it. Written for sonde.
local terminal = require "ansiterminal"
local M = {}

-- 256-colour codes from cold (dark green) to hot (red).
local PALETTE = {22, 28, 64, 34, 2, 76, 46, 118, 154, 191, 227, 226, 11, 220, 209, 208, 202, 197, 9, 1}
-- Cells for the fraction of the way to the next colour (the last shade
-- is drawn with foreground and background swapped).
local SHADES = {" ", "\226\150\145", "\226\150\146", "\226\150\145"}

-- Foreground, background and character for `n` calls in an interval of
-- which there are `per_sec` a second.
function M.cell(n, per_sec)
	local level = math.log10(n * per_sec + 1) / math.log10(1.6)
	level = math.max(1, math.min(level, #PALETTE))
	local lo, hi = math.floor(level), math.ceil(level)
	local frac = level - lo
	local ch = SHADES[math.floor(1 + frac * #SHADES)]
	if frac > 0.75 then
		return PALETTE[hi], PALETTE[lo], ch
	end
	return PALETTE[lo], PALETTE[hi], ch
end

-- Draws the row of buckets 1..width of `counts` over the line above,
-- then a reset and a newline; `blank()` sets the colours of an empty
-- cell.
function M.row(counts, width, per_sec, blank)
	terminal.moveup(1)
	for x = 1, width do
		local n = counts[x]
		local ch = " "
		if n == nil or n == 0 then
			blank()
		else
			local fg, bg
			fg, bg, ch = M.cell(n, per_sec)
			terminal.setfgcol(fg)
			terminal.setbgcol(bg)
		end
		io.write(ch)
	end
	io.write(terminal.reset .. "\n")
end

-- Draws an axis of `width` columns split in `steps` equal parts: at the
-- start of each part label(part) (which returns the text, or nil for a
-- space), elsewhere spaces.
function M.axis(width, steps, label)
	local x = 0
	while x < width do
		local part = math.floor(x * steps / width)
		local text
		if part ~= math.floor((x - 1) * steps / width) then text = label(part, x) end
		if text then
			io.write(text)
			x = x + #text
		else
			io.write(" ")
			x = x + 1
		end
	end
	io.write("\n")
end

-- Stops a chisel that needs a terminal when standard output is none.
function M.need_tty()
	if sysdig.is_tty() then return true end
	print("This chisel only works on ANSI terminals. Aborting.")
	return false
end

return M
