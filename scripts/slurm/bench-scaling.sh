#!/usr/bin/env bash
# Scaling of the Slurm chain, measured on one node (README "On a cluster"):
#
#  1. features and predict with N = 1, 2, 4 shards over a synthetic cohort: the N tasks of a wave
#     run at the same time, each with SLURM_CPUS_PER_TASK = max(1, cores / N) (what --cpus-per-task
#     gives a task; on 2 cores N = 4 oversubscribes 2x). Printed: the wave's wall time and the
#     total work per frame, CPU time (user + sys of all tasks, /usr/bin/time) / frames, split into
#     decode and base by running each wave three times on the same shards:
#        cold   empty frame caches, empty feature cache: decode + preprocess + base + start-up
#        warm   frame caches kept, feature cache emptied: base + start-up
#        cached both kept: start-up only (manifest, model, weights hash; nothing computed)
#     decode = cold - warm, base = warm - cached. predict is one wave per N (decode + base + head).
#  2. catalog merge: 4 shard catalogs of ROWS/4 instances each (1 file, 1 frame per instance, 4
#     instances per study and series, 2 studies per patient), written straight into the real
#     schema (an empty catalog made by `sonokit ingest`) by sqlite3 from a real instance row, then
#     `sonokit catalog merge` into a new catalog: wall time, rows (instances) per second, file size,
#     peak resident memory (with COMPARE, the same shards merged by both binaries, one after the other).
#
# Usage: scripts/slurm/bench-scaling.sh [WORK_DIR]
#   env: SONOKIT (default: the release build, built when missing), PATIENTS=60, SHARDS="1 2 4",
#        ROWS="100000 1000000", FRAMES=all (the frame policy of features/train/predict),
#        STEPS="features predict merge" (the parts to run),
#        COMPARE=/path/to/another/sonokit (merge: the same shards also merged by it, first; before/after)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
W=${1:-/tmp/sonokit-bench-scaling}
PATIENTS=${PATIENTS:-60}
SHARDS=${SHARDS-"1 2 4"}
ROWS=${ROWS-"100000 1000000"}
FRAMES=${FRAMES:-all}
STEPS=${STEPS:-"features predict merge"}
step() { [[ " $STEPS " == *" $1 "* ]]; }
if [[ -z "${SONOKIT:-}" ]]; then
  swift build -c release --product sonokit 2>&1 | tail -1
  SONOKIT="$(swift build -c release --show-bin-path)/sonokit"
fi
cores=$(nproc)
mkdir -p "$W"
echo "bench-scaling: $SONOKIT, $cores cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"

# --- The cohort ----------------------------------------------------------------------------------
c=(--catalog "$W/catalog.sqlite" --classes benign,malignant --positive malignant)
if [[ ! -f "$W/splits.csv" ]]; then
  "$SONOKIT" synth -o "$W/cohort" --patients "$PATIENTS" --seed 1 | tail -1
  "$SONOKIT" ingest "$W/cohort" --catalog "$W/catalog.sqlite" >/dev/null
  "$SONOKIT" manifest split "$W/cohort/labels.csv" "${c[@]}" --group patient_id --stratify label --ratios 0.5,0.25,0.25 --seed 7 \
    -o "$W/splits.csv" >/dev/null
fi
model=(--model vgg16 --frames "$FRAMES")

# wave NAME N CMD...: runs CMD with --shard I/N for I in 0..N-1 at the same time (each with
# SLURM_CPUS_PER_TASK = max(1, cores/N)); "{I}" in CMD is replaced by I. Sets wall, cpu (seconds)
# and leaves each task's output in $W/logs/NAME-I.out.
wave() {
  local name=$1 n=$2; shift 2
  local per=$((cores / n)); ((per >= 1)) || per=1
  mkdir -p "$W/logs"
  local t0 pids=() i
  t0=$(date +%s.%N)
  for ((i = 0; i < n; i++)); do
    local args=("${@//\{I\}/$i}")
    SLURM_CPUS_PER_TASK=$per /usr/bin/time -f "%e %U %S" -o "$W/logs/$name-$i.time" "${args[@]}" --shard "$i/$n" \
      > "$W/logs/$name-$i.out" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { echo "bench-scaling: a task of $name failed:" >&2; cat "$W/logs/$name"-*.out >&2; exit 1; }; done
  wall=$(python3 -c "import time,sys; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$t0")
  cpu=$(cat "$W/logs/$name"-*.time | awk '{s += $2 + $3} END {printf "%.1f", s}')
}

# --- features: N = 1, 2, 4 -----------------------------------------------------------------------
step features || SKIP_FEATURES=1
[[ -n "$SHARDS" && -z "${SKIP_FEATURES:-}" ]] && echo && echo "features (vgg16 base, --frames $FRAMES): N tasks at once, SLURM_CPUS_PER_TASK = max(1, $cores/N)"
[[ -n "$SHARDS" && -z "${SKIP_FEATURES:-}" ]] && printf '%-3s %-7s %-14s %-14s %-14s %-12s %-12s %-10s\n' N frames "cold wall/cpu" "warm wall/cpu" "cached w/cpu" "decode ms/f" "base ms/f" "speed-up"
first_wall=""
for n in $( [[ -n "${SKIP_FEATURES:-}" ]] || echo "$SHARDS" ); do
  rm -rf "$W/features-$n" "$W/frames-$n"-*
  cmd=("$SONOKIT" features "$W/cohort/labels.csv" "${c[@]}" --splits "$W/splits.csv" "${model[@]}"
       --feature-cache "$W/features-$n" --frame-cache "$W/frames-$n-{I}")
  wave "features-cold-$n" "$n" "${cmd[@]}"; cold_wall=$wall cold_cpu=$cpu
  frames=$(cat "$W/logs/features-cold-$n"-*.out | sed -n 's/.*: \([0-9]*\) frames in this shard.*/\1/p' | awk '{s += $1} END {print s}')
  computed=$(cat "$W/logs/features-cold-$n"-*.out | sed -n 's/.*frames in this shard, \([0-9]*\) computed.*/\1/p' | awk '{s += $1} END {print s}')
  [[ "$computed" == "$frames" ]] || { echo "bench-scaling: the cold wave computed $computed of $frames frames" >&2; exit 1; }
  rm -rf "$W/features-$n"
  wave "features-warm-$n" "$n" "${cmd[@]}"; warm_wall=$wall warm_cpu=$cpu
  wave "features-cached-$n" "$n" "${cmd[@]}"; cached_wall=$wall cached_cpu=$cpu
  computed=$(cat "$W/logs/features-cached-$n"-*.out | sed -n 's/.*frames in this shard, \([0-9]*\) computed.*/\1/p' | awk '{s += $1} END {print s}')
  [[ "$computed" == 0 ]] || { echo "bench-scaling: the cached wave computed $computed frames" >&2; exit 1; }
  [[ -n "$first_wall" ]] || first_wall=$cold_wall
  python3 - "$n" "$frames" "$cold_wall" "$cold_cpu" "$warm_wall" "$warm_cpu" "$cached_wall" "$cached_cpu" "$first_wall" <<'PY'
import sys
n, frames = int(sys.argv[1]), int(sys.argv[2])
cw, cc, ww, wc, kw, kc, first = map(float, sys.argv[3:10])
print(f"{n:<3} {frames:<7} {f'{cw:.1f}/{cc:.1f} s':<14} {f'{ww:.1f}/{wc:.1f} s':<14} {f'{kw:.1f}/{kc:.1f} s':<14} "
      f"{1000 * (cc - wc) / frames:<12.1f} {1000 * (wc - kc) / frames:<12.1f} {first / cw:.2f}x")
PY
done
[[ -n "$SHARDS" && -z "${SKIP_FEATURES:-}" ]] && echo "(wall/cpu: the wave's wall time / CPU time of all its tasks; ms/f: CPU milliseconds per frame)"
# Decode alone, measured directly (the cold - warm difference is small next to the base and drowns
# in the noise of a shared machine): ingest --verify decodes every frame (and hashes it) on top of
# what ingest does; one process, SLURM_CPUS_PER_TASK=1, best of 3.
if step features; then
  best_plain=999999 best_verify=999999
  for _ in 1 2 3; do
    rm -f "$W/decode-plain.sqlite" "$W/decode-verify.sqlite"
    SLURM_CPUS_PER_TASK=1 /usr/bin/time -f "%U %S" -o "$W/logs/decode-plain.time" "$SONOKIT" ingest "$W/cohort" --catalog "$W/decode-plain.sqlite" --jobs 1 >/dev/null
    SLURM_CPUS_PER_TASK=1 /usr/bin/time -f "%U %S" -o "$W/logs/decode-verify.time" "$SONOKIT" ingest "$W/cohort" --catalog "$W/decode-verify.sqlite" --jobs 1 --verify >/dev/null
    best_plain=$(awk -v b="$best_plain" '{c = $1 + $2; print (c < b ? c : b)}' "$W/logs/decode-plain.time")
    best_verify=$(awk -v b="$best_verify" '{c = $1 + $2; print (c < b ? c : b)}' "$W/logs/decode-verify.time")
  done
  all=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM frames').fetchone()[0])" "$W/decode-verify.sqlite")
  python3 -c "import sys; p, v, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]); print(f'decode alone (ingest --verify - ingest, {n} frames, 1 thread, best of 3): {1000 * (v - p) / n:.1f} CPU ms/frame')" \
    "$best_plain" "$best_verify" "$all"
fi

# --- predict: N = 1, 2, 4 ------------------------------------------------------------------------
first=${SHARDS%% *}
step predict || SKIP_PREDICT=1
if [[ -n "$SHARDS" && -z "${SKIP_PREDICT:-}" && ! -f "$W/run/model-card.json" ]]; then
  "$SONOKIT" train "$W/cohort/labels.csv" "${c[@]}" --splits "$W/splits.csv" "${model[@]}" --epochs 2 --seed 1 \
    --feature-cache "$W/features-$first" --frame-cache "$W/frames-train" -o "$W/run" > "$W/logs/train.out" 2>&1
fi
[[ -n "$SHARDS" && -z "${SKIP_PREDICT:-}" ]] && echo && echo "predict (every study of the catalog): N tasks at once, then predict --merge"
[[ -n "$SHARDS" && -z "${SKIP_PREDICT:-}" ]] && printf '%-3s %-7s %-9s %-16s %-12s %-10s %-8s\n' N frames studies "wall/cpu" "cpu ms/f" speed-up "merge"
first_wall=""
for n in $( [[ -n "${SKIP_PREDICT:-}" ]] || echo "$SHARDS" ); do
  rm -rf "$W/predict-$n" "$W/predictions-$n"
  wave "predict-$n" "$n" "$SONOKIT" predict "$W/run" "$W/catalog.sqlite" -o "$W/predict-$n"
  frames=$(cat "$W/logs/predict-$n"-*.out | sed -n 's/^predict: .*; \([0-9]*\) frames in.*/\1/p' | awk '{s += $1} END {print s}')
  studies=$(cat "$W/logs/predict-$n"-*.out | sed -n 's/^predict: \([0-9]*\) studies reported.*/\1/p' | awk '{s += $1} END {print s}')
  merge=0  # one shard (--shard 0/1) is an unsharded run: its folder is the result, nothing to merge
  if ((n > 1)); then
    t0=$(date +%s.%N)
    "$SONOKIT" predict --merge "$W/predictions-$n" "$W/predict-$n"/shard-*-of-"$n" > "$W/logs/predict-merge-$n.out"
    merge=$(python3 -c "import time,sys; print(f'{time.time() - float(sys.argv[1]):.2f}')" "$t0")
  fi
  [[ -n "$first_wall" ]] || first_wall=$wall
  python3 - "$n" "$frames" "$studies" "$wall" "$cpu" "$first_wall" "$merge" <<'PY'
import sys
n, frames, studies = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
wall, cpu, first, merge = map(float, sys.argv[4:8])
print(f"{n:<3} {frames:<7} {studies:<9} {f'{wall:.1f}/{cpu:.1f} s':<16} {1000 * cpu / frames:<12.1f} {first / wall:<10.2f} {merge:.2f} s")
PY
done

# --- catalog merge: ROWS synthetic instances in 4 shard catalogs ----------------------------------
step merge || ROWS=""
[[ -n "$ROWS" ]] && echo && echo "catalog merge: 4 shard catalogs of ROWS/4 instances (1 file, 1 frame each) into a new catalog"
[[ -n "$ROWS" ]] && printf '%-9s %-12s %-10s %-12s %-12s %-14s\n' rows "make shards" "merge s" "rows/s" "catalog MB" "MB/1e6 rows"
mkdir -p "$W/empty"
for rows in $ROWS; do
  d="$W/merge-$rows"
  rm -rf "$d"; mkdir -p "$d"
  t0=$(date +%s.%N)
  for i in 0 1 2 3; do
    "$SONOKIT" ingest "$W/empty" --catalog "$d/shard-$i.sqlite" >/dev/null
    python3 - "$W/catalog.sqlite" "$d/shard-$i.sqlite" "$i" $((rows / 4)) <<'PY'
import json, sqlite3, sys
template_db, target, shard, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
src = sqlite3.connect(template_db)
row = src.execute("SELECT * FROM instances WHERE is_image = 1 LIMIT 1").fetchone()
cols = [d[0] for d in src.execute("SELECT * FROM instances LIMIT 0").description]
template = dict(zip(cols, row))
meta = json.loads(template["metadata_json"])
db = sqlite3.connect(target)
db.execute("PRAGMA synchronous = OFF")
def uid(kind, n): return f"2.25.{shard + 1}{kind}{n:09d}"
patients, studies, series, instances, frames, files = [], [], [], [], [], []
for n in range(count):
    s, p = n // 4, n // 8
    sop, ser, stu = uid(1, n), uid(2, s), uid(3, s)
    if n % 8 == 0: patients.append((f"P-{shard}-{p}", f"PID{shard}-{p}", f"Synthetic^{shard}^{p}", "19700101"))
    if n % 4 == 0:
        studies.append((stu, f"S-{shard}-{s}", f"P-{shard}-{p}", f"ACC{shard}{s}", meta["studyDate"], meta["studyDescription"]))
        series.append((ser, stu, "US", meta["manufacturer"], meta["modelName"], meta["seriesDescription"]))
    m = dict(meta, sopInstanceUID=sop, seriesInstanceUID=ser, studyInstanceUID=stu, accessionNumber=f"ACC{shard}{s}")
    path = f"/export/shard{shard}/{s:07d}/{n:09d}.dcm"
    t = dict(template, sop_instance_uid=sop, series_instance_uid=ser, path=path, metadata_json=json.dumps(m, sort_keys=True, separators=(",", ":")))
    instances.append(tuple(t[c] for c in cols))
    frames.append((sop, 0, None))
    files.append((path, 150000, 1.7e9, "instance", sop))
with db:
    db.executemany("INSERT INTO patients VALUES (?, ?, ?, ?)", patients)
    db.executemany("INSERT INTO studies VALUES (?, ?, ?, ?, ?, ?)", studies)
    db.executemany("INSERT INTO series VALUES (?, ?, ?, ?, ?, ?)", series)
    db.executemany(f"INSERT INTO instances ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", instances)
    db.executemany("INSERT INTO frames VALUES (?, ?, ?)", frames)
    db.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?)", files)
PY
  done
  make=$(python3 -c "import time,sys; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$t0")
  # The same shards merged by each binary: COMPARE (e.g. an older build) first, then SONOKIT.
  for binary in ${COMPARE:+"$COMPARE"} "$SONOKIT"; do
    rm -f "$d"/merged.sqlite*
    /usr/bin/time -f "%e %M" -o "$d/merge.time" "$binary" catalog merge "$d/merged.sqlite" "$d"/shard-{0,1,2,3}.sqlite > "$d/merge.out"
    read -r seconds maxkb < "$d/merge.time"
    merged=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM instances').fetchone()[0])" "$d/merged.sqlite")
    [[ "$merged" == "$rows" ]] || { echo "bench-scaling: the merged catalog of $binary has $merged instances, not $rows" >&2; exit 1; }
    python3 - "$rows" "$make" "$seconds" "$(stat -c %s "$d/merged.sqlite")" "$maxkb" "$binary" <<'PY'
import sys
rows, make, seconds, size, maxkb = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
mb = size / 1e6
print(f"{rows:<9} {f'{make:.1f} s':<12} {seconds:<10.1f} {rows / seconds:<12.0f} {mb:<12.1f} {mb * 1e6 / rows:<8.0f} (merge peak RSS {maxkb / 1024:.0f} MiB; {sys.argv[6]})")
PY
  done
  rm -f "$d"/shard-*.sqlite
done
echo "bench-scaling: done, load average $(cut -d' ' -f1-3 /proc/loadavg)"
