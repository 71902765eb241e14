-- The image workload of benchmark/image.js in Lua, for LuaJIT 2.1: a
-- 400x400 image of rgba_pixel, a green ramp, then passes that turn it grey.
-- `mode` is 'ffi' (an rgba_pixel[?] cdata) or 'table' (a Lua table of
-- tables). Prints one line of JSON: ms per grey pass (os.clock), the memory
-- the image holds (collectgarbage's count, after a full collection) and a
-- checksum of the red channel.
--
--   luajit benchmark/image.lua ffi 100

local ffi = require('ffi')
local mode = arg[1] or 'ffi'
local passes = tonumber(arg[2] or '100')
local N = 400 * 400
local floor = math.floor

ffi.cdef('typedef struct { uint8_t red, green, blue, alpha; } rgba_pixel;')

local make, grey, red
if mode == 'ffi' then
  make = function(n)
    local img = ffi.new('rgba_pixel[?]', n)
    local f = 255 / (n - 1)
    for i = 0, n - 1 do
      img[i].green = i * f
      img[i].alpha = 255
    end
    return img
  end
  grey = function(img, n)
    for i = 0, n - 1 do
      local y = 0.3 * img[i].red + 0.59 * img[i].green + 0.11 * img[i].blue
      img[i].red = y
      img[i].green = y
      img[i].blue = y
    end
  end
  red = function(img, n, i) return img[i].red end
else
  make = function(n)
    local img = {}
    local f = 255 / (n - 1)
    for i = 1, n do
      img[i] = { red = 0, green = floor((i - 1) * f), blue = 0, alpha = 255 }
    end
    return img
  end
  grey = function(img, n)
    for i = 1, n do
      local y = floor(0.3 * img[i].red + 0.59 * img[i].green + 0.11 * img[i].blue)
      img[i].red = y
      img[i].green = y
      img[i].blue = y
    end
  end
  red = function(img, n, i) return img[i + 1].red end
end

-- One-time costs (the ctype, the traces) before the memory is counted.
local warm = make(16)
grey(warm, 16)
warm = nil
collectgarbage('collect')
collectgarbage('collect')
local before = collectgarbage('count')
local img = make(N)
grey(img, N)
collectgarbage('collect')
collectgarbage('collect')
local kb = collectgarbage('count') - before

for _ = 1, 10 do grey(img, N) end
local t = os.clock()
for _ = 1, passes do grey(img, N) end
local ms = (os.clock() - t) * 1000 / passes

local sum = 0
for i = 0, N - 1 do sum = sum + red(img, N, i) end
io.write(string.format('{"msPerPass":%.4f,"bytes":%d,"checksum":%d}\n', ms, floor(kb * 1024), sum))
