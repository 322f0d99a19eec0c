#!/usr/bin/env bash
# What a CI job relies on, end to end on whichever back end works (KVM, else
# QEMU): the coverage map of a known sweep, exactly; shards that merge into
# the unsharded map and report; a sweep stopped by SIGTERM and by its time
# budget that resumes to the uninterrupted map; JUnit that validates
# against the schema; lcov that genhtml renders; bad maps and states
# refused with one line and exit 2.
#
# usage: test_ci.sh IST_TORTURE GUEST_DIR FIXTURES_DIR
# The exact map is tests/fixtures/naive-ist-d1-nmi.map; after a deliberate
# change to naive-ist.S or to the windows, regenerate it with
#   ist-torture sweep --stub naive-ist --depth 1 --events nmi \
#     --crash-dir none --coverage m.map &&
#   sed 's/^stub naive-ist [0-9a-f]*$/stub naive-ist IMAGE/' m.map
# and review the difference.
set -u
bin=$(realpath "$1") guests=$(realpath "$2") fixtures=$(realpath "$3")
cd "$(mktemp -d)" || exit 1
trap 'rm -rf "$PWD"' EXIT
failed=0 passed=0

fail() { echo "FAIL $*"; failed=$((failed + 1)); }
pass() { echo "ok   $*"; passed=$((passed + 1)); }
run() { "$bin" "$@" --guest-dir "$guests"; }

# The schedules' totals in a JSON report.
schedules() {
	python3 -c 'import json,sys; print(sum(s["schedules"] for s in json.load(open(sys.argv[1]))["stubs"]))' "$1"
}

if ! run sweep --stub naive-ist --depth 1 --events nmi --at entry_SYSCALL_64+0x0 \
	--crash-dir none >probe.out 2>probe.err; then
	if grep -q "no usable back end" probe.err; then
		echo "skip: $(head -n 1 probe.err)"
		exit 77
	fi
	fail "probe sweep: $(head -n 1 probe.err)"
fi

# 1. The map of a known sweep, line by line.
run sweep --stub naive-ist --depth 1 --events nmi --crash-dir none \
	--coverage d1.map >d1.out 2>&1
sed 's/^stub naive-ist [0-9a-f]*$/stub naive-ist IMAGE/' d1.map >d1.norm
if diff -u "$fixtures/naive-ist-d1-nmi.map" d1.norm >d1.diff; then
	pass "naive-ist depth 1 nmi: the map is exactly the expected one"
else
	fail "naive-ist depth 1 nmi: the map differs from $fixtures/naive-ist-d1-nmi.map:"
	head -n 40 d1.diff
fi

# 2. Two shards cover the unsharded sweep exactly once.
sweep=(sweep --stub naive-ist,linux --events nmi:nmi,mc --at entry_SYSCALL_64
	--crash-dir none)
start=$(date +%s.%N)
# Seconds as decimals: awk, which every Debian has (bc may be missing).
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
run "${sweep[@]}" --coverage full.map --json full.json --junit full.xml >full.out 2>&1
rc=$?
took=$(calc "$(date +%s.%N) - $start")
[ $rc -eq 0 ] || fail "unsharded sweep exits $rc: $(tail -n 1 full.out)"
for k in 1 2; do
	run "${sweep[@]}" --shard $k/2 --resume s$k.state --coverage s$k.map >s$k.out 2>&1 ||
		fail "shard $k/2 exits $?: $(tail -n 1 s$k.out)"
done
run coverage s1.map s2.map --merge merged.map >/dev/null 2>&1 ||
	fail "coverage --merge of the shards' maps exits $?"
if cmp -s full.map merged.map; then
	pass "the shards' maps merge into the unsharded map, byte for byte"
else
	fail "the shards' maps merged differ from the unsharded map"
	diff full.map merged.map | head -n 20
fi
"$bin" merge s1.state s2.state --coverage m.map --json merged.json \
	--junit merged.xml >merge.out 2>&1 || fail "merge exits $?: $(tail -n 1 merge.out)"
cmp -s full.map m.map || fail "merge of the shards' states: its map differs from the unsharded one"
full=$(schedules full.json) merged=$(schedules merged.json)
if [ "$full" -gt 0 ] && [ "$full" = "$merged" ]; then
	pass "merge of the shards' states reports the unsharded sweep's $full schedules"
else
	fail "merged report has $merged schedules, the unsharded sweep $full"
fi
if python3 - full.json merged.json <<'PY'; then
import json, sys
def strip(path):
    r = json.load(open(path))
    for key in ("seconds", "shard", "backend"):
        r.pop(key, None)
    return r
sys.exit(strip(sys.argv[1]) != strip(sys.argv[2]))
PY
	pass "merged JSON report equals the unsharded one (but for time, shard, back end)"
else
	fail "merged JSON report differs from the unsharded one"
fi

# 3. Stopped by SIGTERM midway, resumed: the uninterrupted map.
"$bin" "${sweep[@]}" --guest-dir "$guests" --resume r.state --coverage r.map >r1.out 2>&1 &
pid=$!
# Midway: once the first stub's report is out, the second is being swept.
for _ in $(seq 1 600); do
	grep -q "^stub " r1.out 2>/dev/null && break
	sleep 0.05
done
sleep "$(calc "$took / 5")" # into the second stub
kill -TERM $pid 2>/dev/null
wait $pid
rc=$?
if grep -q "^progress done" r.state 2>/dev/null && ! grep -q "^progress stopped\|^progress pending" r.state; then
	fail "SIGTERM: the sweep had finished before it (make the sweep longer)"
elif [ $rc -ne 0 ] || ! grep -q "stopped by a signal" r1.out; then
	fail "SIGTERM: exit $rc, and no clean stop reported: $(tail -n 2 r1.out)"
else
	pass "SIGTERM stops the sweep cleanly and writes its state ($(grep '^progress' r.state | tr '\n' ' '))"
fi
run "${sweep[@]}" --resume r.state --coverage r.map --json r.json >r2.out 2>&1 ||
	fail "resume exits $?: $(tail -n 1 r2.out)"
if cmp -s full.map r.map && [ "$(schedules r.json)" = "$full" ]; then
	pass "resumed after SIGTERM: the same map and $full schedules as uninterrupted"
else
	fail "resumed after SIGTERM: map or schedules differ ($(schedules r.json) vs $full)"
	diff full.map r.map | head -n 10
fi

# 3b. Workers: -j 2 stopped by SIGINT to the parent midway (as a Ctrl-C
# that reached only it), resumed with -j 2: the uninterrupted map; the
# workers' states refused by another -j; no worker left running.
"$bin" "${sweep[@]}" --guest-dir "$guests" -j 2 --resume j.state --coverage j.map >j1.out 2>&1 &
pid=$!
sleep "$(calc "$took / 3")"
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
if [ $rc -ne 0 ] || ! grep -q "stopped by a signal" j1.out || [ ! -e j.state.1of2 ] || [ ! -e j.state.2of2 ]; then
	fail "-j 2, SIGINT: exit $rc, no clean stop or no worker states: $(tail -n 2 j1.out)"
else
	pass "-j 2 stops cleanly on SIGINT; each worker wrote its state"
fi
if pgrep -f -- "--resume j.state" >/dev/null; then
	fail "-j 2, SIGINT: a worker outlived the sweep"
fi
run "${sweep[@]}" -j 2 --resume j.state --coverage j.map --json j.json >j2.out 2>&1 ||
	fail "-j 2 resume exits $?: $(tail -n 1 j2.out)"
if cmp -s full.map j.map && [ "$(schedules j.json)" = "$full" ]; then
	pass "-j 2 resumed after SIGINT: the same map and $full schedules as one process"
else
	fail "-j 2 resumed: map or schedules differ ($(schedules j.json) vs $full)"
	diff full.map j.map | head -n 10
fi

# 3c. Workers and a stub that is no stub: said in the merged report, exit 2.
mkdir -p badguests
cp "$guests"/*.elf badguests/
head -c 100 "$guests/linux.elf" >badguests/linux.elf
"$bin" sweep --guest-dir badguests --stub naive-ist,linux --depth 1 --events nmi \
	--crash-dir none -j 2 >jbad.out 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -A1 "^stub linux" jbad.out | grep -q "NOT SWEPT: badguests/linux.elf"; then
	pass "-j 2: a stub that is no stub is NOT SWEPT in the report, exit 2"
else
	fail "-j 2 with a truncated stub: exit $rc, report: $(grep -A1 '^stub linux' jbad.out)"
fi

# 4. A time budget: run after run, each goes further, none repeats. A
# third of the whole sweep's time each, whatever the machine's speed.
budget=$(calc "$took / 3")
runs=0
while [ $runs -lt 40 ]; do
	runs=$((runs + 1))
	run "${sweep[@]}" --resume b.state --time-budget "$budget" --coverage b.map --json b.json >b.out 2>&1 ||
		{ fail "time-budget run $runs exits $?: $(tail -n 2 b.out)"; break; }
	grep -q "stopped at its time budget" b.out || break
done
if cmp -s full.map b.map && [ "$(schedules b.json)" = "$full" ] && [ $runs -gt 1 ]; then
	pass "--time-budget $budget: $runs runs, the same map and schedules as one"
else
	fail "--time-budget $budget: after $runs runs, map or schedules differ, or it never stopped"
fi

# 5. JUnit against its schema; lcov through genhtml.
if command -v xmllint >/dev/null; then
	if xmllint --noout --schema "$fixtures/junit.xsd" full.xml merged.xml 2>xml.err; then
		pass "JUnit reports validate against the JUnit schema"
	else
		fail "JUnit does not validate: $(head -n 3 xml.err)"
	fi
else
	fail "xmllint missing (apt-get install libxml2-utils; scripts/setup.sh does)"
fi
if command -v genhtml >/dev/null; then
	if run coverage full.map --lcov full.lcov --html html >cov.out 2>cov.err &&
		[ -s html/index.html ] && grep -q '^BRDA:' full.lcov; then
		pass "lcov tracefile rendered by genhtml ($(grep -c '^BRDA:' full.lcov) branch records)"
	else
		fail "coverage --lcov --html: $(tail -n 2 cov.err)"
	fi
else
	fail "genhtml missing (apt-get install lcov; scripts/setup.sh does)"
fi
grep -q "summary of stub linux" cov.out && grep -q "syscall-gap" cov.out ||
	fail "coverage listing lacks linux's summary or its syscall-gap window"

# 6. The progress line: on a terminal only.
if grep -q "first injections" full.out; then
	fail "a progress line went to a file: it is for terminals only"
elif command -v script >/dev/null; then
	script -qec "$bin sweep --stub naive-ist --depth 1 --events nmi --crash-dir none --guest-dir $guests" \
		/dev/null >tty.out 2>&1
	if grep -q "naive-ist: first injections [0-9]*/[0-9]*, [0-9]* schedules" tty.out; then
		pass "a progress line on a terminal, none in a file"
	else
		fail "no progress line on a terminal: $(tail -c 300 tty.out)"
	fi
fi

# 7. Bad input: one line, exit 2, nothing lost.
expect_usage() {
	local what=$1 pattern=$2
	shift 2
	"$@" >bad.out 2>bad.all
	local rc=$?
	# The note that QEMU stands in for a missing /dev/kvm is no error.
	grep -v "sweeping on QEMU instead" bad.all >bad.err
	if [ $rc -eq 2 ] && [ "$(wc -l <bad.err)" -eq 1 ] && grep -Eq -- "$pattern" bad.err; then
		pass "$what: exit 2, '$(cat bad.err)'"
	else
		fail "$what: exit $rc, stderr: $(head -n 3 bad.err)"
	fi
}
printf 'ist-torture-coverage 1\nstub x 0\nwindow 0 a\ncell 0x1 7 nmi 1 1 0 pass pass\n' >bad.map
expect_usage "a map with a cell of an unknown window" "bad.map:4: cell with an unknown window" \
	run coverage bad.map
echo "not a map" >junk.map
expect_usage "a file that is no map" "junk.map:1: not a coverage map" run coverage junk.map
cp r.state other.state
expect_usage "a state resumed under other options" "other.state was made by a sweep with other options" \
	run sweep --stub naive-ist --depth 1 --events nmi --resume other.state
head -c 300 r.state >cut.state
expect_usage "a state cut short" "cut.state:[0-9]+:" "$bin" merge cut.state
expect_usage "a shard merged twice" "s1.state is not another shard" "$bin" merge s1.state s1.state
expect_usage "a shard merged with an unsharded state" "r.state is not another shard" "$bin" merge s1.state r.state
expect_usage "a merge missing a shard" "1 of the sweep's 2 shards are not among the states" \
	"$bin" merge s1.state
expect_usage "a shard out of range" "--shard is K/N" run sweep --shard 3/2
cmp -s r.state other.state || fail "a refused resume changed the state file"
expect_usage "workers' states resumed by another -j" "j.state.1of2 is a worker's state of a sweep with -j 2" \
	run "${sweep[@]}" -j 3 --resume j.state
expect_usage "workers' states resumed without -j" "j.state.1of2 is a worker's state of a sweep with -j 2" \
	run "${sweep[@]}" --resume j.state
expect_usage "a one-process state resumed with -j" "r.state is the state of a sweep without -j" \
	run "${sweep[@]}" -j 2 --resume r.state
expect_usage "workers' states resumed under other options" "j.state.1of2 was made by a sweep with other options" \
	run sweep --stub naive-ist,linux --events nmi --at entry_SYSCALL_64 --crash-dir none -j 2 --resume j.state

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
