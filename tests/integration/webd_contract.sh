#!/bin/sh
# webd_contract: docs/api.md against what a running evflow-webd answers,
# asked by an independent client (python3's http.client, no evflow code)
# over a database the real pipeline filled (testpub -> collector ->
# router -> store), plus rows written through the `flows` view:
#   - /api/v1/processes and /api/v1/containers return `limit` rows;
#   - keyset pages over long text values (300 and 2000 bytes) and over
#     reals that travel with an exponent reach every row once;
#   - a 405's Allow lists the path's methods;
#   - /api/v1/flows/{id} refuses parameters;
#   - a login 429's Retry-After is the bucket's time to its next token
#     (at most 6 s): waiting that long is enough, and the message says
#     the same number;
#   - interfaces[].mirrored is a boolean, as router[].mirrored;
#   - evflow_daemon_up carries each daemon's role;
#   - GET /api/v1/interfaces right after a settings change shows it;
#   - every flow's community_id is the one the Community ID spec gives for
#     its 5-tuple (computed here with hashlib), and community_id= finds
#     exactly the rows that have it;
#   - the application fields, their filters and the names of addresses.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"

need_bins evflow-store evflow-router evflow-collector evflow-testpub \
    evflow-ctlq evflow-webd
command -v sqlite3 >/dev/null || { echo "skip: no sqlite3"; exit 77; }

lib_init
ZP=$(free_port)
ZI="tcp://127.0.0.1:${ZP}c"
webd_pipeline "$ZI" lo
start_webd webd -o webd.rate=0 -o webd.login_rate=10

publish -z "tcp://127.0.0.1:$ZP" -f "$SAMPLES" -q
publish -z "tcp://127.0.0.1:$ZP" --gen 300 -q
wait_sql "generated flows stored" "SELECT count(*) >= 300 FROM flows" 1
ctl store flush >/dev/null

# Rows no producer sends: long process paths, reals far from 1, what the
# capture's nDPI would say, names seen for addresses.  Ids far above the
# store's own (it continues from its highest id at start only).
long300=$(python3 -c 'print("/" + "p" * 298 + "x")')
long2k_a=$(python3 -c 'print("/" + "q" * 1500 + "a" * 498)')
long2k_b=$(python3 -c 'print("/" + "q" * 1500 + "b" * 498)')
now=$(date +%s)
sqlite3 -cmd '.timeout 5000' "$DB" "
INSERT INTO flows (id, iface_id, first_seen, last_seen, ip_version, protocol,
  cli_addr, cli_port, srv_addr, srv_port, cli_pid, cli_process, rtt_ms)
VALUES
  (900000001, 1, $now, $now, 4, 6, '10.77.0.1', 1, '10.77.0.2', 2, 1, '$long300', 1e-05),
  (900000002, 1, $now, $now, 4, 6, '10.77.0.1', 3, '10.77.0.2', 4, 2, '$long2k_a', 2.5e+20),
  (900000003, 1, $now, $now, 4, 6, '10.77.0.1', 5, '10.77.0.2', 6, 3, '$long2k_b', 3e-300),
  (900000004, 1, $now, $now, 4, 6, '10.77.0.1', 7, '10.77.0.2', 8, 4, '$long2k_a', 4e-07);
INSERT INTO flows (id, iface_id, first_seen, last_seen, ip_version, protocol,
  cli_addr, cli_port, srv_addr, srv_port, app_proto, app_category, tls_sni,
  ja3, community_id)
VALUES (900000010, 2, $now, $now, 4, 6, '10.77.1.1', 40000, '10.77.1.2', 443,
  'TLS.YouTube', 'Media', 'www.youtube.com', '771a2b4c6d8e0f1a2b3c4d5e6f708192',
  NULL);
INSERT INTO host_names VALUES ('10.77.1.2', 'www.youtube.com', 'sni', $now, $now),
  ('10.77.1.2', 'old.example', 'dns', $now - 100, $now - 100),
  ('10.77.1.1', 'laptop.lan', 'dns', $now, $now);" || fail "insert rows"

cat > "$T/contract.py" <<'EOF'
import base64, hashlib, http.client, ipaddress, json, os, re, struct, sys
import time, urllib.parse

url = urllib.parse.urlparse(os.environ["W_URL"])
TOKEN = os.environ["W_TOKEN"]
checks = 0

def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)

def check(cond, msg):
    global checks
    checks += 1
    if not cond:
        fail(msg)

def request(method, path, body=None, headers=None, auth=True):
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=15)
    h = {"Host": "127.0.0.1"}
    if auth:
        h["Authorization"] = "Bearer " + TOKEN
    if body is not None:
        h["Content-Type"] = "application/json"
        h["Origin"] = "http://127.0.0.1"
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r, data

def get(path, want=200):
    st, r, data = request("GET", path)
    check(st == want, "%s: status %d, want %d: %s" % (path, st, want, data[:300]))
    return json.loads(data)

q = urllib.parse.quote

# ---- aggregates: `limit` rows, not limit + 1
for path, key in (("/api/v1/processes", "processes"),
                  ("/api/v1/processes?by=pid", "processes"),
                  ("/api/v1/containers", "containers"),
                  ("/api/v1/containers?by=pod", "pods")):
    allrows = get(path)[key]
    for limit in (1, 2):
        sep = "&" if "?" in path else "?"
        rows = get(path + sep + "limit=%d" % limit)[key]
        check(len(rows) == min(limit, len(allrows)),
              "%s limit=%d: %d rows of %d" % (path, limit, len(rows), len(allrows)))
check(len(get("/api/v1/processes")["processes"]) >= 3, "the data has processes")

# ---- keyset pages: every row once, in order
def walk(base):
    seen, cursor, pages = [], None, 0
    while True:
        path = base + ("&cursor=" + q(cursor) if cursor else "")
        j = get(path)
        seen += [f["id"] for f in j["flows"]]
        cursor = j["next"]
        pages += 1
        check(pages < 500, base + ": pages never end")
        if cursor is None:
            return seen, pages

for order in ("desc", "asc"):
    ids, pages = walk("/api/v1/flows?sort=cli_process&order=%s&limit=1&addr=10.77.0.2" % order)
    check(sorted(ids) == [900000001, 900000002, 900000003, 900000004],
          "long text values, %s: %s" % (order, ids))
    check(pages >= 4, "long text values: one row a page")
    ids, pages = walk("/api/v1/flows?sort=rtt&order=%s&limit=1&addr=10.77.0.2" % order)
    want = [900000003, 900000004, 900000001, 900000002]
    check(ids == (want if order == "asc" else want[::-1]),
          "reals with exponents, %s: %s" % (order, ids))
# the whole table by a text sort, pages of 37
ids, _ = walk("/api/v1/flows?sort=cli_process&limit=37")
total = get("/api/v1/flows?limit=1000")["flows"]
check(len(ids) == len(set(ids)), "cli_process pages: a row twice")
check(set(ids) == set(f["id"] for f in total), "cli_process pages: rows missing")

# ---- 405: Allow says what the path answers
for method, path, allow in (("PUT", "/api/v1/flows", "GET, HEAD"),
                            ("DELETE", "/api/v1/flows/1", "GET, HEAD"),
                            ("POST", "/api/v1/summary", "GET, HEAD"),
                            ("GET", "/api/v1/login", "POST"),
                            ("PUT", "/api/v1/interfaces/settings", "POST"),
                            ("PUT", "/", "GET, HEAD")):
    st, r, data = request(method, path)
    check(st == 405, "%s %s: status %d" % (method, path, st))
    check(r.getheader("Allow") == allow,
          "%s %s: Allow %r, want %r" % (method, path, r.getheader("Allow"), allow))

# ---- one flow: no parameters
fid = total[0]["id"]
get("/api/v1/flows/%d" % fid)
for bad in ("x=1", "limit=5", "sort=id"):
    j = get("/api/v1/flows/%d?%s" % (fid, bad), 400)
    check("unknown parameter" in j["error"]["message"], "flow detail ?" + bad)

# ---- interfaces: mirrored is a boolean in both tables, and current
def ifaces():
    j = get("/api/v1/interfaces")
    db = {i["name"]: i["mirrored"] for i in j["interfaces"]}
    live = {i["name"]: i["mirrored"] for i in (j["router"] or [])}
    return db, live
db, live = ifaces()
check(all(isinstance(v, bool) for v in db.values()), "interfaces[].mirrored: %s" % db)
check(all(isinstance(v, bool) for v in live.values()), "router[].mirrored: %s" % live)
check(set(db) == set(live), "the same interfaces: %s %s" % (db, live))
# A session for the writes.
st, r, data = request("POST", "/api/v1/login", auth=False,
                      body=json.dumps({"user": "admin", "password": os.environ["W_PASS"]}))
check(st == 200, "login: %d %s" % (st, data))
cookie = r.getheader("Set-Cookie").split(";")[0]
csrf = json.loads(data)["csrf"]
for k in range(6):
    want = k % 2 == 0
    st, r, data = request("POST", "/api/v1/interfaces/settings", auth=False,
                          body=json.dumps({"name": "lo", "mirrored": want}),
                          headers={"Cookie": cookie, "X-CSRF-Token": csrf})
    check(st == 200, "settings: %d %s" % (st, data))
    db, live = ifaces()
    check(live["lo"] is want, "router block right after the change %d: %s" % (k, live))

# ---- /metrics: evflow_daemon_up with each daemon's role
st, r, data = request("GET", "/metrics")
check(st == 200, "metrics")
up = re.findall(r'^evflow_daemon_up\{daemon="([^"]*)",role="([^"]*)"\} (\S+)$',
                data.decode(), re.M)
roles = {d: role for d, role, v in up}
check(roles.get("router") == "router" and roles.get("store") == "store" and
      roles.get("col0") == "collector", "daemon_up roles: %s" % up)
check(all(role for d, role, v in up), "an empty role: %s" % up)

# ---- Community ID: the spec's hash of each row's 5-tuple
def community_id(proto, saddr, daddr, sport, dport):
    a, b = ipaddress.ip_address(saddr).packed, ipaddress.ip_address(daddr).packed
    ports = proto in (6, 17, 132)
    if not ports:
        sport = dport = 0
    if (a, sport) > (b, dport):
        a, b, sport, dport = b, a, dport, sport
    data = struct.pack("!H", 0) + a + b + struct.pack("!BB", proto, 0)
    if ports:
        data += struct.pack("!HH", sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()

n = 0
for f in total:
    if f["id"] >= 900000000:
        continue
    if f["proto"] in (1, 58):
        continue        # needs the ICMP type (schema.md)
    want = community_id(f["proto"], f["cli_addr"], f["srv_addr"],
                        f["cli_port"], f["srv_port"])
    check(f["community_id"] == want, "flow %d: %s, want %s" % (f["id"], f["community_id"], want))
    n += 1
check(n >= 300, "community IDs checked: %d" % n)
cid = [f["community_id"] for f in total if f["community_id"]][0]
same = [f["id"] for f in total if f["community_id"] == cid]
for form in (q(cid, safe=""), cid):       # encoded, and its '+' as typed
    got = [f["id"] for f in get("/api/v1/flows?limit=1000&community_id=" + form)["flows"]]
    check(sorted(got) == sorted(same), "community_id= %s: %s, want %s" % (form, got, same))
get("/api/v1/flows?community_id=1:abc", 400)

# ---- application fields, filters and names
for flt in ("app=YouTube", "app=tls", "category=media", "sni=youtube.com",
            "host=youtube.com", "host=laptop.lan",
            "ja3=771A2B4C6D8E0F1A2B3C4D5E6F708192"):
    got = [f["id"] for f in get("/api/v1/flows?limit=1000&" + flt)["flows"]]
    check(got == [900000010], flt + ": %s" % got)
check(get("/api/v1/flows?sni=tube.com")["flows"] == [], "sni matches whole labels")
f = get("/api/v1/flows?app=youtube")["flows"][0]
check((f["app_proto"], f["tls_sni"], f["cli_name"], f["srv_name"]) ==
      ("TLS.YouTube", "www.youtube.com", "laptop.lan", "www.youtube.com"),
      "list fields: %s" % f)
d = get("/api/v1/flows/900000010")["flow"]
check((d["client"]["name"], d["server"]["name"], d["ja3"], d["app_category"]) ==
      ("laptop.lan", "www.youtube.com", "771a2b4c6d8e0f1a2b3c4d5e6f708192", "Media"),
      "detail: %s" % d)
check(isinstance(d["iface_mirrored"], bool), "detail iface_mirrored: %r" % d["iface_mirrored"])

# ---- login 429: Retry-After is what the bucket needs (10 a minute: a
# token every 6 s), no less: waiting it is enough
bad = json.dumps({"user": "admin", "password": "wrong"})
codes = []
for k in range(12):
    st, r, data = request("POST", "/api/v1/login", body=bad, auth=False)
    codes.append(st)
    if st == 429:
        break
check(codes[-1] == 429 and codes.count(401) == 9, "login codes (one token went to the login above): %s" % codes)
ra = int(r.getheader("Retry-After"))
# The bucket refills all along (one token per 6 s): the wait left
# depends on how long the attempts took (each costs an argon2id check).
check(1 <= ra <= 6, "Retry-After %d, want at most the refill time 6" % ra)
msg = json.loads(data)["error"]["message"]
check(("%d s" % ra) in msg, "the message says the same: %r" % msg)
time.sleep(ra)
st, r, data = request("POST", "/api/v1/login", body=bad, auth=False)
check(st == 401, "after Retry-After the next attempt is answered: %d" % st)
print("contract: %d checks" % checks)
EOF
W_URL=$W_URL W_TOKEN=$W_TOKEN W_PASS=$W_PASS python3 "$T/contract.py" ||
    fail "contract"
checks=$((checks + 1))
stop_webd webd
pass
