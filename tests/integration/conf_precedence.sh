#!/bin/sh
# conf_precedence: every program applies its configuration in the one
# order of common/daemon.h (defaults < -f file < -o key=value < -d, -N
# and its own flags), and `-n` prints the result.  For each binary the
# same file (datadir, name, log_level) is overridden by -o, then by
# -d/-N given before and after the -o options; the printed values must
# be the same for all.  Each also refuses a bad -N and a bad name in
# the file with exit 1 and a reason.
. "$(dirname "$0")/lib.sh"
lib_init
cat >"$T/evflow.conf" <<CONF
datadir = $T/file
name = fromfile
log_level = 2
interface = eth0
CONF

# program and the arguments it needs besides the shared ones
progs="evflow-router:
evflow-store:
evflow-webd:
evflow-collector:-i tcp://127.0.0.1:1c
evflow-capture:-i lo
evflow-probe:"
ran=0

# val FILE KEY: the value `-n` printed for KEY
val() { sed -n "s/^$2 = //p" "$1" | head -n 1; }

# expect PROG OUT KEY WANT
expect() {
	got=$(val "$2" "$3")
	[ "$got" = "$4" ] || fail "$1: $3 = '$got', want '$4' ($5)"
	checks=$((checks + 1))
}

echo "$progs" | while IFS=: read -r b extra; do
	if [ ! -x "$BIN/$b" ]; then
		[ "$b" = evflow-probe ] && { echo "note: $b not built"; continue; }
		fail "$b not built"
	fi
	run() {	# run CASE ARGS...: -n output in $T/$b.$1
		c=$1; shift
		# shellcheck disable=SC2086
		"$BIN/$b" -n -f "$T/evflow.conf" $extra "$@" >"$T/$b.$c" \
		    2>"$T/$b.$c.err" || fail "$b $*: $(cat "$T/$b.$c.err")"
	}
	run file
	expect "$b" "$T/$b.file" datadir "$T/file" "the file"
	expect "$b" "$T/$b.file" name fromfile "the file"
	expect "$b" "$T/$b.file" log_level 2 "the file"
	run over -o "datadir=$T/over" -o name=fromo -o log_level=0
	expect "$b" "$T/$b.over" datadir "$T/over" "-o over the file"
	expect "$b" "$T/$b.over" name fromo "-o over the file"
	expect "$b" "$T/$b.over" log_level 0 "-o over the file"
	run flags_first -d "$T/flag" -N fromflag -o "datadir=$T/over" \
	    -o name=fromo
	expect "$b" "$T/$b.flags_first" datadir "$T/flag" "-d before -o"
	expect "$b" "$T/$b.flags_first" name fromflag "-N before -o"
	run flags_last -o "datadir=$T/over" -o name=fromo -d "$T/flag" \
	    -N fromflag
	expect "$b" "$T/$b.flags_last" datadir "$T/flag" "-d after -o"
	expect "$b" "$T/$b.flags_last" name fromflag "-N after -o"
	run twice -d "$T/one" -d "$T/two" -o log_level=1
	expect "$b" "$T/$b.twice" datadir "$T/two" "the last -d wins"
	expect "$b" "$T/$b.twice" log_level 1 "-o log_level"
	# shellcheck disable=SC2086
	for bad in "../x" "" ".hidden" "a/b" \
	    "0123456789012345678901234567890123456789012345678901234567890123"; do
		if "$BIN/$b" -n -f "$T/evflow.conf" $extra -N "$bad" \
		    >/dev/null 2>"$T/err"; then
			fail "$b accepted -N '$bad'"
		fi
		grep -q "name" "$T/err" || fail "$b -N '$bad': no reason: $(cat "$T/err")"
		checks=$((checks + 1))
	done
	sed 's/^name = .*/name = bad\/name/' "$T/evflow.conf" >"$T/badname.conf"
	# shellcheck disable=SC2086
	if "$BIN/$b" -n -f "$T/badname.conf" $extra >/dev/null 2>"$T/err"; then
		fail "$b accepted a bad name from the file"
	fi
	checks=$((checks + 1))
	echo "$b: same precedence"
	echo "$checks" >"$T/checks.$b"
done || exit 1

# evflowctl has datadir alone (no name, no log level): same order.
C="$BIN/evflowctl"
[ -x "$C" ] || fail "evflowctl not built"
"$C" start -n -f "$T/evflow.conf" >"$T/ctl.file" || fail "evflowctl -n"
expect evflowctl "$T/ctl.file" datadir "$T/file" "the file"
"$C" start -n -f "$T/evflow.conf" -o "datadir=$T/over" >"$T/ctl.over" ||
	fail "evflowctl -n -o"
expect evflowctl "$T/ctl.over" datadir "$T/over" "-o over the file"
"$C" start -n -f "$T/evflow.conf" -d "$T/flag" -o "datadir=$T/over" \
    >"$T/ctl.flag" || fail "evflowctl -n -d"
expect evflowctl "$T/ctl.flag" datadir "$T/flag" "-d over -o"
"$C" start -n -f "$T/evflow.conf" -o interface=lo -i x >"$T/ctl.if" ||
	fail "evflowctl -n -i"
[ "$(grep -c '^interface = ' "$T/ctl.if")" = 1 ] && grep -qx 'interface = x' "$T/ctl.if" ||
	fail "evflowctl: -i replaces the list of the file and -o"
checks=$((checks + 1))
for f in "$T"/checks.*; do checks=$((checks + $(cat "$f"))); done
pass
