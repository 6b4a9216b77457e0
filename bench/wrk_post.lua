-- wrk script for bench/nginx.sh: POST the body in the file named by WRK_BODY (a real
-- promptlab request of 30 items, ~6 KB) with the headers an OpenAI client sends.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
local f = assert(io.open(os.getenv("WRK_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
