#!/usr/bin/env bash
# Nothing lost under load (issue 19): LANES concurrent lanes, each PUSHES storescu associations one
# after the other, each association pushing every ultrasound image file of SampleStudies (in its
# own transfer syntax) to `sonokit listen` (release build). Checks, and exits non-zero on any
# mismatch: every C-STORE answered Success; every instance stored once (one file per instance,
# nothing partial left), its dataset byte-identical to the sent one (SHA-256 of the dataset after
# the meta header); the catalog's row counts equal those of `sonokit ingest` of the same files; the
# listener's resident memory flat (the peak of the last third of the samples within 10%, at least
# 8 MiB, of the first third's). Prints the counts, wall time, instances/s, MB/s and the RSS.
#
# Usage: scripts/node/load-test.sh [--lanes 8] [--pushes 20] [--binary PATH] [--keep]
#   --binary  a sonokit binary to test (default: `swift build -c release --product sonokit` first)
#   --keep    keep the work folder (store, catalog, logs) and print where it is
# Needs DCMTK's storescu and dcmdump and python3 (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/../.."

lanes=8 pushes=20 binary="" keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --lanes) lanes="$2"; shift 2 ;;
    --pushes) pushes="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "load-test: unknown option $1 (usage: $0 [--lanes N] [--pushes N] [--binary PATH] [--keep])" >&2; exit 2 ;;
  esac
done
if [[ -z "$binary" ]]; then
  echo "load-test: building the release binary (swift build -c release --product sonokit)"
  swift build -c release --product sonokit 2>&1 | tail -1
  binary=.build/release/sonokit
fi
[[ -x "$binary" ]] || { echo "load-test: $binary is not an executable; build it or give --binary" >&2; exit 2; }

work=$(mktemp -d /tmp/sonokit-load.XXXXXX)
listener_pid=""
cleanup() {
  [[ -n "$listener_pid" ]] && kill -KILL "$listener_pid" 2>/dev/null || true
  jobs -p | xargs -r kill -KILL 2>/dev/null || true
  if [[ $keep == 1 ]]; then echo "load-test: work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

fail=0
check() {  # check CONDITION-TEXT OK(0/1)
  if [[ "$2" == 1 ]]; then echo "  ok   $1"; else echo "  FAIL $1"; fail=1; fi
}

source scripts/node/lib.sh
mapfile -t files < <(node_image_files)
n=${#files[@]}
bytes=$(cat "${files[@]}" | wc -c)
echo "load-test: $n image files ($bytes bytes), $lanes lanes x $pushes pushes = $((lanes * pushes * n)) C-STOREs"
node_storescu_config "$work/storescu.cfg"

port=$(node_free_port)
timeout -s TERM -k 10 7200 "$binary" listen --store "$work/store" --catalog "$work/node.sqlite" --port "$port" \
  --max-associations "$lanes" > "$work/listen.log" 2>&1 &
timeout_pid=$!
node_wait_port "$port" || { echo "load-test: the listener is not listening: $(cat "$work/listen.log")" >&2; exit 1; }
listener_pid=$(cat "/proc/$timeout_pid/task/$timeout_pid/children" | awk '{print $1}')
[[ -n "$listener_pid" ]] || { echo "load-test: the listener did not start: $(cat "$work/listen.log")" >&2; exit 1; }

# RSS of the listener every 0.2 s while the lanes run.
( while kill -0 "$listener_pid" 2>/dev/null; do
    awk '/^VmRSS:/ {print $2}' "/proc/$listener_pid/status" 2>/dev/null || true
    sleep 0.2
  done ) > "$work/rss.txt" &
sampler=$!

start=$(date +%s.%N)
push_status=0
node_push "$lanes" "$pushes" "$work/storescu.cfg" "$port" "$work/lane" "${files[@]}" || push_status=$?
end=$(date +%s.%N)
kill -TERM "$timeout_pid"
listen_status=0
wait "$timeout_pid" || listen_status=$?
listener_pid=""
wait "$sampler" 2>/dev/null || true

total=$((lanes * pushes * n))
wall=$(python3 -c "print(f'{$end - $start:.1f}')")
echo "load-test: $total C-STOREs in $wall s: $(python3 -c "print(f'{$total / ($end - $start):.0f}')") instances/s," \
  "$(python3 -c "print(f'{$bytes * $lanes * $pushes / ($end - $start) / 1e6:.1f}')") MB/s"
echo "load-test: checks"
for lane in $(seq "$lanes"); do
  ok=$(grep -c 'Received Store Response (Success)' "$work/lane-$lane.log" || true)
  errors=$(grep -c '^E: ' "$work/lane-$lane.log" || true)
  check "lane $lane: $ok/$((pushes * n)) answered Success, $errors errors" \
    "$([[ $ok == $((pushes * n)) && $errors == 0 ]] && echo 1 || echo 0)"
done
check "every storescu exited 0" "$([[ $push_status == 0 ]] && echo 1 || echo 0)"
check "listener exit status $listen_status after SIGTERM" "$([[ $listen_status == 0 ]] && echo 1 || echo 0)"
stopped=$(grep -o 'stopped: .*' "$work/listen.log" || echo "no stop line")
check "listener: $stopped" "$(grep -q "stopped: $total instances stored .* 0 refused; $((lanes * pushes)) associations accepted, 0 rejected" "$work/listen.log" && echo 1 || echo 0)"

"$binary" ingest "${files[@]}" --catalog "$work/ingest.sqlite" > "$work/ingest.log" 2>&1
python3 - "$work" "${files[@]}" <<'PY' || fail=1
import hashlib, os, sqlite3, sys
work, sent_files = sys.argv[1], sys.argv[2:]

def part10(path):
    """(SOP Instance UID, SHA-256 of the dataset after the file meta information)."""
    data = open(path, "rb").read()
    assert data[128:132] == b"DICM", f"{path}: no DICM prefix"
    offset, uid = 132, None
    while offset + 8 <= len(data) and int.from_bytes(data[offset:offset + 2], "little") == 2:
        element = int.from_bytes(data[offset + 2:offset + 4], "little")
        vr = data[offset + 4:offset + 6]
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN"):
            length, start = int.from_bytes(data[offset + 8:offset + 12], "little"), offset + 12
        else:
            length, start = int.from_bytes(data[offset + 6:offset + 8], "little"), offset + 8
        if element == 3:
            uid = data[start:start + length].rstrip(b"\0 ").decode()
        offset = start + length
    return uid, hashlib.sha256(data[offset:]).hexdigest()

failed = False
def check(text, ok):
    global failed
    print(("  ok   " if ok else "  FAIL ") + text)
    failed |= not ok

stored = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(work, "store")) for f in fs]
partial = [p for p in stored if os.path.basename(p).startswith(".incoming-")]
check(f"store: {len(stored)} files for {len(sent_files)} instances, {len(partial)} partial", len(stored) == len(sent_files) and not partial)
received = dict(part10(p) for p in stored if not p in partial)
mismatched = [f for f in sent_files if received.get(part10(f)[0]) != part10(f)[1]]
check(f"datasets byte-identical to the sent ones (SHA-256): {len(sent_files) - len(mismatched)}/{len(sent_files)}", not mismatched)

def counts(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("patients", "studies", "series", "instances", "frames", "files", "problems")}
node, reference = counts(os.path.join(work, "node.sqlite")), counts(os.path.join(work, "ingest.sqlite"))
check(f"catalog counts {node} equal ingest's", node == reference and node["instances"] == len(sent_files))

rss = [int(line) for line in open(os.path.join(work, "rss.txt")) if line.strip()]
third = len(rss) // 3
if third == 0:
    check(f"RSS: only {len(rss)} samples", False)
else:
    first, last = max(rss[:third]), max(rss[-third:])
    print(f"load-test: listener RSS {min(rss) / 1024:.1f}..{max(rss) / 1024:.1f} MiB over {len(rss)} samples; "
          f"peak of the first third {first / 1024:.1f} MiB, of the last third {last / 1024:.1f} MiB")
    check("RSS flat (last third's peak within 10%, at least 8 MiB, of the first third's)", last <= first + max(first // 10, 8192))
sys.exit(1 if failed else 0)
PY

echo "load-test: machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $fail == 0 ]]; then echo "load-test: PASS"; else echo "load-test: FAIL"; fi
exit $fail
