wrk.method = "POST"
wrk.body = "type=update&contact%5Bid%5D=1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
