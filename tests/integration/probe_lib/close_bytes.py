# Checks that the probe's CLOSE events of one TCP connection carry byte
# counts that agree with the packet flow evflow-capture built for it.
#
#   close_bytes.py EVENTS DB IFACE CPORT CLIENT_PID SERVER_PID
#
# EVENTS is evflow-testsub -p output (one JSON payload per line: an
# object or an array).  For each side's CLOSE (the event whose
# LOCAL_PROCESS is that pid, on the connection with client port CPORT)
# the kernel's BYTES_RCVD is payload: the flow's IP bytes in the
# direction it received minus the headers, and BYTES_ACKED the same for
# what it sent.  Headers between two Linux hosts with default settings
# (TCP timestamps on: every TCP header 32 bytes, the SYN's 40) make
# IP bytes - payload = packets * (IP header + 32) + 8, give or take the
# SYN and FIN (counted in sequence space): the check allows 4 bytes
# either way, less than any request or reply.  A retransmission adds
# what the segment carried (at most an MSS) in its direction and SACK
# options (at most 40 bytes) in the other.  Prints
# "ok", or what disagrees and exits 1.
import json
import sqlite3
import sys

events, db, iface, cport = sys.argv[1], sys.argv[2], sys.argv[3], \
    int(sys.argv[4])
pids = {"client": int(sys.argv[5]), "server": int(sys.argv[6])}

closes = {}
for line in open(events, errors="replace"):
    line = line.strip()
    if not line.startswith(("{", "[")):
        continue
    try:
        j = json.loads(line)
    except ValueError:
        continue
    for e in j if isinstance(j, list) else [j]:
        if e.get("TCP_EVENT_TYPE") != "CLOSE":
            continue
        if cport not in (e.get("L4_SRC_PORT"), e.get("L4_DST_PORT")):
            continue
        pid = e.get("LOCAL_PROCESS", {}).get("PID")
        for side, want in pids.items():
            if pid == want:
                closes[side] = e

c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
r = c.execute("SELECT ip_version, c2s_packets, c2s_bytes, s2c_packets, "
              "s2c_bytes, ifnull(c2s_retrans, 0), ifnull(s2c_retrans, 0) "
              "FROM flows_v WHERE iface = ? AND protocol = 6 AND "
              "cli_port = ? AND c2s_packets IS NOT NULL",
              (iface, cport)).fetchone()
if r is None or r[1] is None:
    print("no packet flow for client port %d in %s" % (cport, iface))
    sys.exit(1)
ipv, c2s_p, c2s_b, s2c_p, s2c_b, c2s_r, s2c_r = r
hdr = (20 if ipv == 4 else 40) + 32	# IP + TCP with timestamps
SLACK = 4
# what each side received and sent, as (packets, IP bytes, segments the
# capture saw again: their payload counts twice in IP bytes, once in the
# kernel's counters)
flow = {"client": ((s2c_p, s2c_b, s2c_r), (c2s_p, c2s_b, c2s_r)),
        "server": ((c2s_p, c2s_b, c2s_r), (s2c_p, s2c_b, s2c_r))}
MSS = 1500
bad = []
for side in pids:
    e = closes.get(side)
    if e is None:
        bad.append("no CLOSE event of the %s (pid %d)" % (side, pids[side]))
        continue
    tcp = e.get("TCP", {})
    (rpk, rip, rrt), (spk, sip, srt) = flow[side]
    for key, pk, ip, more in (("BYTES_RCVD", rpk, rip, rrt * MSS + srt * 40),
                              ("BYTES_ACKED", spk, sip, srt * MSS + rrt * 40)):
        v = tcp.get(key)
        extra = ip - v - (pk * hdr + 8) if isinstance(v, int) else 0
        if not isinstance(v, int):
            bad.append("%s CLOSE: no %s (%r)" % (side, key, tcp))
        elif not (-SLACK <= extra <= SLACK + more):
            bad.append("%s CLOSE: %s %d, packets %d with %d IP bytes "
                       "(headers %d, expected %d)" % (side, key, v, pk, ip,
                                                      ip - v, pk * hdr + 8))
if bad:
    print("; ".join(bad))
    sys.exit(1)
print("ok")
