-- ansiterminal for sonde: ANSI colour codes and cursor control for
-- chisels that draw on a terminal (the module sysdig's chisels `require`
-- under this name). Written for sonde.
local T = {}

local ESC = string.char(27) .. "["

-- SGR codes by name: attributes, then foreground 30-37, background 40-47.
local CODES = {reset = 0, clear = 0, bright = 1, dim = 2, underscore = 4, blink = 5,
	reverse = 7, hidden = 8}
local HUES = {"black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"}
for i, hue in ipairs(HUES) do
	CODES[hue] = 29 + i
	CODES["on" .. hue] = 39 + i
end

-- Turns the colour fields (T.red, T.reset, ...) into escape sequences, or
-- into empty strings when `on` is not true. Until called, they are nil.
function T.enable_color(on)
	for name, code in pairs(CODES) do
		if on == true then
			T[name] = ESC .. code .. "m"
		else
			T[name] = ""
		end
	end
end

local function put(seq)
	io.write(ESC .. seq)
end

function T.clearscreen() put("2J") end
function T.clearline() put("2K") end
function T.hidecursor() put("?25l") end
function T.showcursor() put("?25h") end
function T.moveto(x, y) put(tostring(x) .. ";" .. tostring(y) .. "H") end
function T.moveup(n) put(tostring(n) .. "F") end
-- 256-colour foreground and background.
function T.setfgcol(c) put("38;5;" .. c .. "m") end
function T.setbgcol(c) put("48;5;" .. c .. "m") end

return T
