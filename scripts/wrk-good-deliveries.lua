counter = 0
request = function()
  counter = counter + 1
  local body = "type=update&date_time=2026-01-02T10%3A00%3A00-06%3A00&initiated_from=admin&list=0&contact%5Bid%5D=" .. (counter % 5000 + 1) .. "&contact%5Bemail%5D=a" .. counter .. "%40example.com&contact%5Bfirst_name%5D=N" .. counter .. "&contact%5Btags%5D=vip%2C+lead"
  return wrk.format("POST", nil, {["Content-Type"]="application/x-www-form-urlencoded"}, body)
end
