#!/bin/sh
# webd_slowloris: slow clients cannot hold webd.  python3 opens more
# connections from 127.0.0.1 than webd.conn_per_ip and webd.conn_max
# allow, each sending one header line a second (so no idle timeout ever
# fires), plus one that sends its body a byte a second.  A normal client
# on the same address still gets every answer within 1 s (new
# connections evict the oldest waiting ones), and every slow connection
# is closed within webd.request_timeout (+ the 1 s sweep) of its start:
# the whole request, not each line, is timed.  The counters say so.
# A second webd with a short webd.idle_timeout (and a long request
# timeout) closes a connection that goes silent mid-request.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"

[ -x "$BIN/evflow-webd" ] || { echo "skip: evflow-webd not built"; exit 77; }
for c in python3 curl; do
	command -v $c >/dev/null || { echo "skip: no $c"; exit 77; }
done
lib_init
start_webd webd -o webd.rate=0 -o webd.request_timeout=3s \
    -o webd.idle_timeout=60s -o webd.conn_per_ip=20 -o webd.conn_max=30
PORT=${W_URL##*:}

# The slow client: N connections, a header line each per second; prints
# "ready" once all are open, then, per connection, the seconds it lived.
cat >"$T/slow.py" <<'PY'
import socket, sys, time
port, n, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    if i == n - 1:	# the newest: its body, a byte a second
        s.sendall(b"POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n")
    else:
        s.sendall(b"GET /api/v1/session HTTP/1.1\r\nHost: localhost\r\n")
    s.setblocking(False)
    conns.append([s, time.time(), None])
print("ready", flush=True)
end = time.time() + 15
while time.time() < end and any(c[2] is None for c in conns):
    for i, c in enumerate(conns):
        if c[2] is not None:
            continue
        try:
            c[0].sendall(b"{" if i == n - 1 else b"X-Slow: 1\r\n")
            if c[0].recv(4096) == b"":
                c[2] = time.time() - c[1]
        except BlockingIOError:
            pass
        except OSError:
            c[2] = time.time() - c[1]
    time.sleep(1)
with open(out, "w") as f:
    for c in conns:
        f.write("%s\n" % ("open" if c[2] is None else "%.1f" % c[2]))
PY
python3 "$T/slow.py" "$PORT" 60 "$T/lived" >"$T/slow.out" 2>&1 &
SLOW=$!
wait_true "slow connections open" "grep -q ready $T/slow.out" 10

# A normal client, meanwhile: a fresh connection per request, each
# answered within 1 s, five times over the slow client's life.
A="Authorization: Bearer $W_TOKEN"
for i in 1 2 3 4 5; do
	got=$(curl -s -o "$T/body" -w '%{http_code} %{time_total}' --max-time 1 \
	    -H "$A" "$W_URL/api/v1/session")
	case "$got" in
	"200 "*) ;;
	*) fail "normal client, request $i: '$got' while slow clients hold webd" ;;
	esac
	checks=$((checks + 1))
	sleep 0.5
done

wait "$SLOW" || fail "slow client failed: $(cat "$T/slow.out")"
open=$(grep -c open "$T/lived")
check_eq "slow connections still open after 15 s" "$open" 0
# Evicted ones went at once; the rest within the timeout (3 s) plus the
# sweep's second plus scheduling slack.
late=$(awk '$1 > 6.5' "$T/lived" | wc -l)
check_eq "slow connections that lived beyond 6.5 s" "$late" 0
timed=$(awk '$1 >= 2.5' "$T/lived" | wc -l)
[ "$timed" -ge 1 ] || fail "no connection lasted until the timeout: $(tr '\n' ' ' <"$T/lived")"
body=$(tail -n 1 "$T/lived")
awk -v t="$body" 'BEGIN { exit !(t >= 2.5 && t <= 6.5) }' ||
	fail "the slow body lived $body s, want the request timeout (3 s)"
checks=$((checks + 2))

req GET /metrics -H "$A" >/dev/null
m() { sed -n "s/^evflow_webd_$1{[^}]*} //p" "$T/body"; }
[ "$(m conn_timeout)" -ge 1 ] || fail "conn_timeout not counted: $(m conn_timeout)"
[ "$(m conn_evicted)" -ge 30 ] || fail "conn_evicted: $(m conn_evicted), want >= 30"
checks=$((checks + 2))
echo "lived: $(sort -n "$T/lived" | uniq -c | tr '\n' ' ')"
echo "timeouts $(m conn_timeout), evicted $(m conn_evicted), refused $(m conn_refused)"
daemon_alive webd || fail "webd died"

# ---- idle timeout: silent for 2 s mid-request
start_webd webd2 -o webd.rate=0 -o webd.request_timeout=60s -o webd.idle_timeout=2s
lived=$(python3 - "${W_URL##*:}" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /api/v1/session HTTP/1.1\r\nHost: localhost\r\n")
t = time.time()
s.settimeout(20)
try:
    s.recv(4096)
except OSError:
    pass
print("%.1f" % (time.time() - t))
PY
)
awk -v t="$lived" 'BEGIN { exit !(t >= 1.5 && t <= 6) }' ||
	fail "a silent connection lived $lived s, want the idle timeout (2 s)"
checks=$((checks + 1))
req GET /metrics -H "$A" >/dev/null
check_eq "idle timeouts counted" "$(m conn_idle_timeout)" 1
check_eq "not a request timeout" "$(m conn_timeout)" 0
stop_webd webd
stop_webd webd2
pass
