#!/bin/sh
# iolatd query, stats and reload, end to end against tests/fakedaemon: a
# stand-in daemon with a fixed rule (slow when feature 2 > 5000, score
# 200 or 50), so the answers can be checked with awk. Exit codes and
# messages as iolatd(8) documents them.
set -u
b=${top_builddir:-.}
iolatd="$b/daemon/iolatd"
tmp=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2> /dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
checks=0
fail() { echo "client_cli: FAIL: $*" >&2; exit 1; }
ok() { checks=$((checks + 1)); }

# Starts a fake daemon on socket $1 (further arguments are its options)
# and returns once it listens: it prints "ready" into a fifo we read, so
# there is no sleep and no polling. Sets $fake to its pid.
nfakes=0
start_fake() {
	sock=$1
	shift
	nfakes=$((nfakes + 1))
	fifo="$tmp/ready.$nfakes"
	mkfifo "$fifo" || fail "mkfifo"
	"$b/tests/fakedaemon" "$@" "$sock" > "$fifo" &
	fake=$!
	pids="$pids $fake"
	read -r line < "$fifo"
	[ "$line" = ready ] || fail "fakedaemon $* did not start"
}

# Features: 200 lines whose third field crosses 5000 often, and the rule's
# expected answers, computed here independently of the C code.
awk 'BEGIN { for (i = 1; i <= 200; i++)
	printf "1,4096,%d,%d,0,%d,0,0\n", (i * 7919) % 10007, i, -i }' > "$tmp/x.csv"
awk -F, '{ if ($3 > 5000) printf "1,%.6f\n", 200 / 256; else printf "0,%.6f\n", 50 / 256 }' \
	"$tmp/x.csv" > "$tmp/expected"
slow=$(grep -c '^1,' "$tmp/expected")
[ "$slow" -gt 20 ] && [ "$slow" -lt 180 ] || fail "test data: $slow slow of 200"

# Usage errors exit 2; --help exits 0, documents --socket and the timeout.
for cmd in query stats reload; do
	"$iolatd" $cmd --bogus > /dev/null 2>&1
	[ $? -eq 2 ] || fail "$cmd --bogus: exit status not 2"
	"$iolatd" $cmd --help > "$tmp/help" || fail "$cmd --help: exit status not 0"
	grep -q -- "--socket PATH" "$tmp/help" || fail "$cmd --help: no --socket"
	grep -q "10 seconds" "$tmp/help" || fail "$cmd --help: no timeout"
	grep -q "/run/iolatd/iolatd.sock" "$tmp/help" || fail "$cmd --help: no default socket"
done
"$iolatd" query a.csv b.csv > /dev/null 2>&1
[ $? -eq 2 ] || fail "query with two files: exit status not 2"
"$iolatd" stats --json --prometheus > /dev/null 2>&1
[ $? -eq 2 ] || fail "stats --json --prometheus: exit status not 2"
"$iolatd" stats extra > /dev/null 2>&1
[ $? -eq 2 ] || fail "stats with an argument: exit status not 2"
"$iolatd" reload --json > /dev/null 2>&1
[ $? -eq 2 ] || fail "reload --json: exit status not 2"
"$iolatd" reload extra > /dev/null 2>&1
[ $? -eq 2 ] || fail "reload with an argument: exit status not 2"
ok

# No daemon: exit 1, one line naming the socket.
for cmd in query stats reload; do
	"$iolatd" $cmd --socket "$tmp/none.sock" < "$tmp/x.csv" > "$tmp/out" 2> "$tmp/err"
	[ $? -eq 1 ] || fail "$cmd, no socket: exit status not 1"
	grep -q "^iolatd $cmd: $tmp/none.sock: " "$tmp/err" ||
		fail "$cmd, no socket: $(cat "$tmp/err")"
	[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$cmd, no socket: not one line"
	[ -s "$tmp/out" ] && fail "$cmd, no socket: output on stdout"
done
ok

start_fake "$tmp/d.sock"
main=$fake

# query: 200 lines (three full frames and one of 8), in order, each as
# the rule says; from a file and from standard input alike.
"$iolatd" query --socket "$tmp/d.sock" "$tmp/x.csv" > "$tmp/q.out" ||
	fail "query exited $?"
cmp -s "$tmp/q.out" "$tmp/expected" ||
	fail "query output differs: $(diff "$tmp/expected" "$tmp/q.out" | head -n 5)"
"$iolatd" query -s "$tmp/d.sock" < "$tmp/x.csv" | cmp -s - "$tmp/expected" ||
	fail "query from stdin differs"
ok

# Comments and blank lines are skipped; a malformed line stops the run
# with its file and line, after the lines before it (more than one
# frame's worth) are answered.
{ echo "# features"; echo; head -n 70 "$tmp/x.csv"; echo "1,2,3"; head -n 5 "$tmp/x.csv"; } \
	> "$tmp/bad.csv"
"$iolatd" query -s "$tmp/d.sock" "$tmp/bad.csv" > "$tmp/bad.out" 2> "$tmp/bad.err"
[ $? -eq 1 ] || fail "malformed line: exit status not 1"
grep -q "^iolatd query: $tmp/bad.csv:73: 3 fields, expected 8$" "$tmp/bad.err" ||
	fail "malformed line: $(cat "$tmp/bad.err")"
head -n 70 "$tmp/expected" | cmp -s - "$tmp/bad.out" || fail "malformed line: lines before it lost"
ok

# stats --json: the daemon's object as received, on one line. The fake has
# seen 3 connections (2 queries, 1 partial) and 200 * 2 + 70 predictions.
preds=$((200 * 2 + 70))
slow70=$(head -n 70 "$tmp/expected" | grep -c '^1,')
nslow=$((slow * 2 + slow70))
"$iolatd" stats --socket "$tmp/d.sock" --json > "$tmp/s.json" || fail "stats --json exited $?"
[ "$(wc -l < "$tmp/s.json")" -eq 1 ] || fail "stats --json: not one line"
grep -q '^{"model_generation": 1, "connections_open": 1, "connections_total": 4, ' "$tmp/s.json" ||
	fail "stats --json: $(cat "$tmp/s.json")"
grep -q "\"predictions\": $preds, \"slow_predictions\": $nslow, " "$tmp/s.json" ||
	fail "stats --json: counts: $(cat "$tmp/s.json")"
grep -q '}]}}$' "$tmp/s.json" || fail "stats --json: not one whole object"
ok

# stats --prometheus: the same counters as text exposition.
"$iolatd" stats -s "$tmp/d.sock" --prometheus > "$tmp/s.prom" || fail "stats --prometheus exited $?"
grep -qx "iolatd_predictions_total $preds" "$tmp/s.prom" || fail "prometheus: predictions"
grep -qx "iolatd_slow_predictions_total $nslow" "$tmp/s.prom" || fail "prometheus: slow"
grep -qx "iolatd_connections_total 5" "$tmp/s.prom" || fail "prometheus: connections"
grep -qx "# TYPE iolatd_request_seconds histogram" "$tmp/s.prom" || fail "prometheus: histogram"
# Every request the fake times is 3 us: none in le 2 us, all in le 4 us.
grep -qx 'iolatd_request_seconds_bucket{le="0.000002"} 0' "$tmp/s.prom" ||
	fail "prometheus: bucket 2 us"
frames=$(sed -n 's/^iolatd_frames_total //p' "$tmp/s.prom")
grep -qx "iolatd_request_seconds_bucket{le=\"0.000004\"} $frames" "$tmp/s.prom" ||
	fail "prometheus: bucket 4 us"
ok

# stats: the table by default.
"$iolatd" stats -s "$tmp/d.sock" > "$tmp/s.txt" || fail "stats exited $?"
grep -Eq "^predictions +$preds$" "$tmp/s.txt" || fail "table: predictions: $(cat "$tmp/s.txt")"
grep -Eq "^slow predictions +$nslow$" "$tmp/s.txt" || fail "table: slow predictions"
grep -Eq "^connections total +6$" "$tmp/s.txt" || fail "table: connections"
grep -Eq "^  5 bad shape +0$" "$tmp/s.txt" || fail "table: errors"
grep -Eq "^  <= 4 us +[0-9]+ \(100.0% cumulative\)$" "$tmp/s.txt" || fail "table: histogram"
ok

# reload: the daemon's JSON reply, exit 0; the generation shows in stats.
"$iolatd" reload -s "$tmp/d.sock" > "$tmp/r.out" || fail "reload exited $?"
[ "$(cat "$tmp/r.out")" = '{"model_generation": 2}' ] || fail "reload: $(cat "$tmp/r.out")"
"$iolatd" stats -s "$tmp/d.sock" --prometheus | grep -qx "iolatd_model_generation 2" ||
	fail "reload: generation not 2 in stats"
ok

kill "$main"
wait "$main" || fail "fakedaemon did not exit cleanly on SIGTERM"
[ -e "$tmp/d.sock" ] && fail "fakedaemon left its socket"

# reload refused (6, permission denied): one line with the code and the
# daemon's message, exit 1; the fake exits after its one connection.
start_fake "$tmp/deny.sock" --deny-reload --connections 1
"$iolatd" reload -s "$tmp/deny.sock" > "$tmp/r.out" 2> "$tmp/r.err"
[ $? -eq 1 ] || fail "refused reload: exit status not 1"
grep -qx "iolatd reload: $tmp/deny.sock: error 6 (permission denied): uid 1000 is neither root nor the daemon's" \
	"$tmp/r.err" || fail "refused reload: $(cat "$tmp/r.err")"
[ -s "$tmp/r.out" ] && fail "refused reload: output on stdout"
wait "$fake" || fail "fakedaemon --connections 1 did not exit cleanly"
ok

# A daemon whose model width changed between INFO and PREDICT (the fake
# announces 7 features, checks 8): its error reply, one line, exit 1.
start_fake "$tmp/w.sock" --info-features 7 --connections 1
cut -d, -f1-7 "$tmp/x.csv" > "$tmp/x7.csv"
"$iolatd" query -s "$tmp/w.sock" "$tmp/x7.csv" > "$tmp/w.out" 2> "$tmp/w.err"
[ $? -eq 1 ] || fail "error reply: exit status not 1"
grep -q "^iolatd query: $tmp/w.sock: error 5 (bad shape): " "$tmp/w.err" ||
	fail "error reply: $(cat "$tmp/w.err")"
[ "$(wc -l < "$tmp/w.err")" -eq 1 ] || fail "error reply: not one line"
wait "$fake" || fail "fakedaemon did not exit cleanly"
ok

echo "client_cli: $checks checks passed"
