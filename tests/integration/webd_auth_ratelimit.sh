#!/bin/sh
# webd_auth_ratelimit: the rate limits against a running webd, clients
# on several loopback addresses (127.0.0.x; IPv6 in a network namespace).
#   - login per address: invalid bodies count as attempts (and as
#     login_failed), so probing with them runs into the same limit;
#   - login per account: wrong passwords for one account from many
#     addresses together stop at webd.login_account_rate, a fresh address
#     is refused too, another account is not;
#   - two addresses alternating never reset each other's bucket (the old
#     table reset a bucket on a slot collision; the colliding pair itself,
#     which depends on a per-process seed, is in test_webd_auth);
#   - IPv6 (root, ip netns): two addresses of one /64 share a bucket, the
#     next /64 has its own.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"

need_bins evflow-ctlq evflow-webd
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }

NS=""
rl_cleanup() {
	rc=$?
	if [ -n "$NS" ]; then
		for p in $(ip netns pids "$NS" 2>/dev/null); do
			kill -TERM "$p" 2>/dev/null
		done
		ip netns del "$NS" 2>/dev/null
	fi
	(exit $rc)
	lib_cleanup
}
lib_init
trap rl_cleanup EXIT

curl --interface 127.0.0.2 -s -o /dev/null --max-time 2 http://127.0.0.1:1/ 2>/dev/null
[ $? = 45 ] && { echo "skip: cannot bind 127.0.0.2"; exit 77; }

start_webd webd -o webd.rate=0 -o webd.login_rate=4 -o webd.login_account_rate=6
# lg SRC BODY: a login from address SRC; prints the status.
lg() {
	curl -s -o "$T/body" -w '%{http_code}' --max-time 10 --interface "$1" \
	    -H 'Content-Type: application/json' --data "$2" "$W_URL/api/v1/login"
}
cred() { printf '{"user":"%s","password":"%s"}' "$1" "$2"; }

# ---- per address: invalid bodies are attempts
codes=""
for b in 'not json' '{}' '{"user":1,"password":"x"}' '{"user":"admin"}'; do
	codes="$codes $(lg 127.0.0.2 "$b")"
done
check_eq "invalid bodies" "$codes" " 400 400 400 400"
check_eq "the fifth attempt" "$(lg 127.0.0.2 "$(cred admin "$W_PASS")")" 429
check_eq "invalid bodies counted as failed logins" "$(counter webd login_failed)" 4
check_eq "another address" "$(lg 127.0.0.3 "$(cred admin wrong-password)")" 401

# ---- per account: 6 a minute, from any address
codes=""
for a in 127.0.0.3 127.0.0.4 127.0.0.4 127.0.0.5 127.0.0.5; do
	codes="$codes $(lg $a "$(cred admin wrong-password)")"
done
check_eq "wrong passwords from three addresses" "$codes" " 401 401 401 401 401"
check_eq "a fresh address, same account" \
    "$(lg 127.0.0.6 "$(cred admin wrong-password)")" 429
jget 'j["error"]["message"]' | grep -q account || fail "message: $(cat "$T/body")"
checks=$((checks + 1))
check_eq "even the right password, for now" "$(lg 127.0.0.7 "$(cred admin "$W_PASS")")" 429
check_eq "another account" "$(lg 127.0.0.6 "$(cred operator wrong-password)")" 401
check_eq "account refusals counted" "$(counter webd rejected_login_account)" 2
check_eq "failed logins" "$(counter webd login_failed)" $((4 + 1 + 5 + 1))

# ---- two addresses alternating: each has its own bucket, nothing resets
start_webd webd2 -o webd.rate=1 -o webd.burst=3
ok=0 ok8=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	if [ $((i % 2)) = 1 ]; then a=127.0.0.8; else a=127.0.0.9; fi
	c=$(curl -s -o /dev/null -w '%{http_code}' --interface $a \
	    "$W_URL/api/v1/session")
	if [ "$c" != 429 ]; then
		ok=$((ok + 1))
		[ $a = 127.0.0.8 ] && ok8=$((ok8 + 1))
	fi
done
# 3 each, plus what refills at 1/s while the loop runs (well under 2 s).
[ $ok -ge 6 ] && [ $ok -le 10 ] && [ $ok8 -ge 3 ] && [ $ok8 -le 5 ] ||
	fail "alternating addresses: $ok allowed ($ok8 from .8), want 6-10"
checks=$((checks + 1))
check_eq "a third address" "$(curl -s -o /dev/null -w '%{http_code}' \
    --interface 127.0.0.10 "$W_URL/api/v1/session")" 401

# ---- IPv6: per /64
if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1; then
	echo "note: IPv6 /64 part skipped (needs root and ip netns)"
else
	NS=evwrl$$
	ip netns add "$NS" || fail "ip netns add"
	ip -n "$NS" link set lo up || fail "lo up"
	for a in 2001:db8:1:2::10 2001:db8:1:2::11 2001:db8:1:3::10; do
		ip -n "$NS" addr add "$a/64" dev lo nodad || fail "address $a"
	done
	rm -f "$T/webd6.port"
	start_daemon webd6 ip netns exec "$NS" "$BIN/evflow-webd" -d "$D" \
	    -N webd6 -o webd.listen=:: -o webd.port=0 \
	    -o webd.port_file="$T/webd6.port" -o webd.rate=1 -o webd.burst=3 \
	    -o webd.hosts='*'
	wait_true "webd6 listening" "test -s $T/webd6.port"
	U6="http://[2001:db8:1:2::10]:$(cat "$T/webd6.port")/api/v1/session"
	g6() {
		ip netns exec "$NS" curl -s -o /dev/null -w '%{http_code}' \
		    --max-time 5 --interface "$1" "$U6"
	}
	codes=""
	for i in 1 2 3; do codes="$codes $(g6 2001:db8:1:2::10)"; done
	check_eq "one address, its burst" "$codes" " 401 401 401"
	check_eq "the same address again" "$(g6 2001:db8:1:2::10)" 429
	check_eq "another address of the /64" "$(g6 2001:db8:1:2::11)" 429
	check_eq "the next /64" "$(g6 2001:db8:1:3::10)" 401
	stop_webd webd6
fi

all_alive_but() {
	for n in $LIB_NAMES; do
		[ "$n" = "$1" ] && continue
		daemon_alive "$n" || fail "$n is no longer running"
	done
}
all_alive_but webd6
stop_webd webd
stop_webd webd2
pass
