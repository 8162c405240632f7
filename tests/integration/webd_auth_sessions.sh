#!/bin/sh
# webd_auth_sessions: sessions end when their user's password changes,
# and API tokens can be listed and revoked, all from the command line
# while webd runs (another process writing webd's credentials file).
#   - `--set-password admin` ends both of admin's sessions within a tick;
#     another user's session stays; the old password is refused, the new
#     one works and its session lasts;
#   - `--list-tokens` shows id, name and creation time, never a secret;
#   - `--revoke-token ID` and `--revoke-token NAME` make webd refuse the
#     token within a tick, other tokens keep working; revoking again, or
#     an unknown token, fails with a reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webd_lib.inc"

need_bins evflow-ctlq evflow-webd
command -v curl >/dev/null || { echo "skip: no curl"; exit 77; }

lib_init
start_webd webd -o webd.rate=0
OP_PASS="operator-pass-$$"
echo "$OP_PASS" | "$BIN/evflow-webd" -d "$D" --set-password operator \
    >/dev/null 2>&1 || fail "set-password operator"

# login_as USER PASS JAR: a session in JAR.
login_as() {
	got=$(curl -s -c "$3" -o "$T/body" -w '%{http_code}' \
	    -H 'Content-Type: application/json' \
	    --data "{\"user\":\"$1\",\"password\":\"$2\"}" "$W_URL/api/v1/login")
	check_eq "login $1" "$got" 200
}
login_as admin "$W_PASS" "$T/jar1"
login_as admin "$W_PASS" "$T/jar2"
login_as operator "$OP_PASS" "$T/jar3"
for j in jar1 jar2 jar3; do
	expect "session $j" 200 GET /api/v1/session -b "$T/$j"
done
check_eq "the operator's session" "$(jget 'j["user"]')" operator

# ---- a new password for admin, set by another process
NEW_PASS="new-horse-battery-$$"
echo "$NEW_PASS" | "$BIN/evflow-webd" -d "$D" --set-password admin \
    >/dev/null 2>&1 || fail "set-password while webd runs"
wait_true "admin's first session ended" \
    "[ \"\$(req GET /api/v1/session -b $T/jar1)\" = 401 ]"
wait_true "admin's second session ended" \
    "[ \"\$(req GET /api/v1/session -b $T/jar2)\" = 401 ]"
expect "the operator's session stays" 200 GET /api/v1/session -b "$T/jar3"
expect "the old password" 401 POST /api/v1/login -H 'Content-Type: application/json' \
    --data "{\"user\":\"admin\",\"password\":\"$W_PASS\"}"
login_as admin "$NEW_PASS" "$T/jar4"
grep -q "session of admin ended" "$T/webd.log" || fail "no log line"
checks=$((checks + 1))
# ---- tokens: list, revoke by id and by name
TOK2=$("$BIN/evflow-webd" -d "$D" --add-token second 2>/dev/null) ||
	fail "add-token while webd runs"
"$BIN/evflow-webd" -d "$D" --list-tokens >"$T/list" 2>"$T/list.err" ||
	fail "list-tokens: $(cat "$T/list.err")"
check_eq "two tokens listed" "$(wc -l <"$T/list")" 2
grep -q "2 tokens" "$T/list.err" || fail "no count: $(cat "$T/list.err")"
grep -q -e "$W_TOKEN" -e "$TOK2" "$T/list" && fail "a secret in the list"
checks=$((checks + 2))
first=$(awk -F '\t' -v n="tok$$webd" '$2 == n { print $1 }' "$T/list")
echo "$first" | grep -Eq '^[0-9a-f]{12}$' || fail "token id: '$first' in $(cat "$T/list")"
awk -F '\t' '$3 !~ /^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-9:]+Z$/ { exit 1 }' \
    "$T/list" || fail "creation times: $(cat "$T/list")"
checks=$((checks + 2))
A1="Authorization: Bearer $W_TOKEN"
A2="Authorization: Bearer $TOK2"
expect "first token" 200 GET /api/v1/session -H "$A1"
wait_true "the new token works" "[ \"\$(req GET /api/v1/session -H '$A2')\" = 200 ]"
# That reload (another process wrote the file) checked the sessions
# again: the new one is still good, the old ones stay ended.
expect "the new session" 200 GET /api/v1/session -b "$T/jar4"
expect "the old sessions stay ended" 401 GET /api/v1/session -b "$T/jar1"

"$BIN/evflow-webd" -d "$D" --revoke-token "$first" 2>"$T/rev.err" ||
	fail "revoke by id: $(cat "$T/rev.err")"
wait_true "the revoked token is refused" \
    "[ \"\$(req GET /api/v1/session -H '$A1')\" = 401 ]"
expect "the other token still works" 200 GET /api/v1/session -H "$A2"
"$BIN/evflow-webd" -d "$D" --revoke-token "$first" 2>"$T/rev.err" &&
	fail "revoking twice succeeded"
grep -q "no token" "$T/rev.err" || fail "no reason: $(cat "$T/rev.err")"
"$BIN/evflow-webd" -d "$D" --revoke-token "nosuch" 2>"$T/rev.err" &&
	fail "revoking an unknown token succeeded"
"$BIN/evflow-webd" -d "$D" --revoke-token "a/b" 2>"$T/rev.err" &&
	fail "revoking a bad name succeeded"
checks=$((checks + 4))
"$BIN/evflow-webd" -d "$D" --revoke-token second 2>"$T/rev.err" ||
	fail "revoke by name: $(cat "$T/rev.err")"
wait_true "the second token is refused" \
    "[ \"\$(req GET /api/v1/session -H '$A2')\" = 401 ]"
"$BIN/evflow-webd" -d "$D" --list-tokens >"$T/list" 2>"$T/list.err" ||
	fail "list-tokens"
check_eq "no token left" "$(wc -l <"$T/list")" 0

daemon_alive webd || fail "webd died"
stop_webd webd
pass
