#!/bin/sh
# webd_config: `evflow-webd -n` prints the configuration it parsed (a
# shared file with other daemons' keys and global keys it skips, then
# -o overrides) and must match tests/integration/webd_config.golden;
# unknown keys, bad values and bad names are refused with exit 1.
. "$(dirname "$0")/lib.sh"
[ -x "$BIN/evflow-webd" ] || { echo "skip: evflow-webd not built"; exit 77; }
lib_init
cat >"$T/evflow.conf" <<CONF
# one file for every daemon
datadir = $D
database = /srv/flows.db
interface = tcp://*:1234c
interface = eth0
mirrored = eth0
store.retention = 3d
router.iface_resend = 5s
webd.listen = ::1
webd.port = 8443
webd.threads = 4
webd.body_max = 32k
webd.session_ttl = 2h
log_level = 2
CONF
"$BIN/evflow-webd" -f "$T/evflow.conf" -N webd-a -o webd.rate=0 -n \
    >"$T/out" 2>"$T/err" || fail "-n failed: $(cat "$T/err")"
sed "s#@D@#$D#g" "$TOP/tests/integration/webd_config.golden" >"$T/want"
diff -u "$T/want" "$T/out" || fail "configuration differs from the golden file"
checks=$((checks + 1))
refuse() {
	desc=$1; shift
	"$BIN/evflow-webd" -f "$T/evflow.conf" -n "$@" >/dev/null 2>"$T/err" &&
		fail "$desc: accepted"
	[ -s "$T/err" ] || fail "$desc: no reason given"
	checks=$((checks + 1))
}
refuse "unknown webd key" -o webd.nosuch=1
refuse "port out of range" -o webd.port=70000
refuse "threads out of range" -o webd.threads=0
refuse "bad size" -o webd.body_max=lots
refuse "bad duration" -o webd.session_ttl=soon
refuse "bad instance name" -N "../x"
refuse "bad router name" -o webd.router=a/b
refuse "cert without key" -o webd.tls_cert=/etc/hostname
echo "webd.bogus = 1" >>"$T/evflow.conf"
refuse "unknown key in the file"
pass
