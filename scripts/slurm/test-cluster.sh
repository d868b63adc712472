#!/usr/bin/env bash
# The SonoKit job chain on a real Slurm: installs Debian's slurm-wlm and munge, starts a one-node
# cluster on localhost (munged, slurmctld, slurmd; config and state in a temporary folder, ports
# chosen free), submits scripts/slurm/submit-chain.sh over SampleStudies with SHARDS-task arrays
# (default 4), waits, and checks that the results equal a single-machine run of the same steps:
#   catalog      every row of every table of the merged catalog = the catalog of one ingest
#   features     the feature cache written by the array = the cache of one unsharded `features`
#   weights      checkpoints/best.safetensors bit for bit (same seed, same thread count)
#   reports      evaluation folder and merged predictions file for file (JSON created_at aside)
# The cluster is torn down at the end (also on failure). Needs root (or passwordless sudo) to
# install packages and run the daemons; where that is impossible it says so and exits 77 (skipped).
# Usage: scripts/slurm/test-cluster.sh   (env: SHARDS=4, KEEP=1 keeps the temporary folder)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
start=$SECONDS
SHARDS=${SHARDS:-4}

skip() { echo "test-cluster: SKIPPED: $*" >&2; exit 77; }
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo -n true 2>/dev/null || skip "not root and no passwordless sudo: cannot install slurm-wlm/munge or run slurmd"
  sudo="sudo -n"
fi
$sudo scripts/setup.sh --slurm
for tool in munged slurmctld slurmd sbatch squeue sacct sinfo scontrol; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || skip "$tool not installed"
done
export PATH="/usr/sbin:$PATH"

echo "test-cluster: building sonokit"
swift build --product sonokit 2>&1 | tail -1
SONOKIT="$(swift build --show-bin-path)/sonokit"
[[ -f "$HOME/.cache/sonokit/weights/vgg16_imagenet_notop.safetensors" ]] || scripts/weights/fetch-vgg16-imagenet.sh

T=$(mktemp -d /tmp/sonokit-slurm-XXXXXX)
chmod 755 "$T"
pids=()
teardown() {
  local rc=$?
  echo "test-cluster: tearing down the cluster"
  [[ -n "${SLURM_CONF:-}" ]] && scancel --quiet --user="$(id -un)" 2>/dev/null || true
  for f in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munged.pid"; do
    [[ -f "$f" ]] && $sudo kill "$(cat "$f")" 2>/dev/null || true
  done
  sleep 1
  if [[ $rc -ne 0 ]]; then
    for log in "$T"/slurmctld.log "$T"/slurmd.log "$T"/work/logs/*; do
      [[ -f "$log" ]] && { echo "--- $log (last 20 lines)"; tail -20 "$log"; }
    done
  fi
  if [[ -z "${KEEP:-}" ]]; then rm -rf "$T"; else echo "test-cluster: kept $T"; fi
  echo "test-cluster: $((SECONDS - start)) s in all"
  exit $rc
}
trap teardown EXIT

# --- The cluster -------------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$T/state" "$T/spool" "$T/munge"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "$T/munge"; chmod 400 "$T/munge/munge.key"
$sudo munged --force --socket="$T/munge/munge.socket" --key-file="$T/munge/munge.key" \
  --pid-file="$T/munged.pid" --log-file="$T/munged.log" --seed-file="$T/munge/munge.seed" \
  || skip "munged does not start here (see $T/munged.log)"
cat > "$T/slurm.conf" <<CONF
ClusterName=sonokit-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$T/slurm.conf"
$sudo env SLURM_CONF="$SLURM_CONF" slurmctld -i || skip "slurmctld does not start here (see $T/slurmctld.log)"
$sudo env SLURM_CONF="$SLURM_CONF" slurmd -N "$host" || skip "slurmd does not start here (see $T/slurmd.log)"
for _ in $(seq 60); do
  state=$(sinfo -h -N -o %T 2>/dev/null | head -1 || true)
  [[ "$state" == idle ]] && break
  sleep 1
done
[[ "$state" == idle ]] || { echo "test-cluster: the node is '$state', not idle" >&2; exit 1; }
echo "test-cluster: one-node cluster up ($host, $cpus CPUs) in $((SECONDS - start)) s"

# --- The chain on the cluster and on this machine -----------------------------------------------
export SONOKIT EXPORT_DIR="$repo/SampleStudies" LABELS="$repo/SampleStudies/labels.csv" CLASSES=benign,malignant POSITIVE=malignant
export SHARDS CPUS_PER_TASK=1
export SPLIT_ARGS="--group patient_id --stratify label --ratios 0.5,0.25,0.25 --seed 7"
export MODEL_ARGS="--model vgg16 --frames middle"
export TRAIN_ARGS="--epochs 3 --seed 1"
REF="$T/single"
W="$T/work"
mkdir -p "$REF" "$W/predict-shards" "$REF/predictions"
# Secrets shared by both runs, so that keys (and with them every report) can be compared: the
# catalog's secret (copied from the single-machine catalog into the empty merged catalog before
# the merge) and the predictions' secret.
"$SONOKIT" ingest "$EXPORT_DIR" --catalog "$REF/catalog.sqlite" >/dev/null
mkdir -p "$T/empty"
"$SONOKIT" ingest "$T/empty" --catalog "$W/catalog.sqlite" >/dev/null
python3 - "$REF/catalog.sqlite" "$W/catalog.sqlite" <<'PY'
import sqlite3, sys
secret = sqlite3.connect(sys.argv[1]).execute("SELECT value FROM meta WHERE key='secret'").fetchone()[0]
db = sqlite3.connect(sys.argv[2]); db.execute("UPDATE meta SET value=? WHERE key='secret'", (secret,)); db.commit()
PY
head -c 32 /dev/urandom > "$W/predict-shards/.sonokit-key-secret"
cp "$W/predict-shards/.sonokit-key-secret" "$REF/predictions/.sonokit-key-secret"
chmod 600 "$W/predict-shards/.sonokit-key-secret" "$REF/predictions/.sonokit-key-secret"

submitted=$SECONDS
WORK="$W" scripts/slurm/submit-chain.sh > "$T/jobs.txt"
echo "test-cluster: submitted $(wc -l < "$T/jobs.txt") jobs ($SHARDS-task arrays): $(tr '\n' ' ' < "$T/jobs.txt")"

echo "test-cluster: the same steps on this machine (SLURM_CPUS_PER_TASK=$CPUS_PER_TASK, as each job)"
single=$SECONDS
(
  export SLURM_CPUS_PER_TASK=$CPUS_PER_TASK
  c=(--catalog "$REF/catalog.sqlite" --classes "$CLASSES" --positive "$POSITIVE")
  # shellcheck disable=SC2086
  {
    "$SONOKIT" manifest split "$LABELS" "${c[@]}" $SPLIT_ARGS -o "$REF/splits.csv"
    "$SONOKIT" features "$LABELS" "${c[@]}" --splits "$REF/splits.csv" $MODEL_ARGS --feature-cache "$REF/feature-cache"
    "$SONOKIT" train "$LABELS" "${c[@]}" --splits "$REF/splits.csv" $MODEL_ARGS $TRAIN_ARGS --feature-cache "$REF/feature-cache" -o "$REF/run"
    "$SONOKIT" evaluate "$REF/run" --split test
    "$SONOKIT" predict "$REF/run" "$REF/catalog.sqlite" -o "$REF/predictions"
  } > "$T/single.log" 2>&1
) || { tail -30 "$T/single.log"; exit 1; }
echo "test-cluster: single machine done in $((SECONDS - single)) s"

last=$(awk '$1=="predict-merge"{print $2}' "$T/jobs.txt")
evaluate=$(awk '$1=="evaluate"{print $2}' "$T/jobs.txt")
while squeue -h -o %i 2>/dev/null | grep -q .; do
  if squeue -h -o '%i %r' | grep -q DependencyNeverSatisfied; then
    echo "test-cluster: a job failed; its dependants can never run:" >&2; squeue >&2; exit 1
  fi
  sleep 5
done
echo "test-cluster: chain finished $((SECONDS - submitted)) s after submission"
for f in "$W"/logs/*.out; do grep -H "Done in\|predict:\|predict --merge\|This run:" "$f" || true; done
[[ -f "$W/predictions/predictions.csv" ]] || { echo "test-cluster: no merged predictions (job $last failed?)" >&2; exit 1; }
[[ -d "$W/run/eval-test" ]] || { echo "test-cluster: no evaluation (job $evaluate failed?)" >&2; exit 1; }

# --- The comparisons -----------------------------------------------------------------------------
fail=0
check() { if "$@"; then :; else fail=1; fi; }
python3 - "$REF/catalog.sqlite" "$W/catalog.sqlite" <<'PY' || fail=1
import sqlite3, sys
a, b = (sqlite3.connect(p) for p in sys.argv[1:3])
tables = [r[0] for r in a.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name")]
bad = 0
for t in tables:
    ra = sorted(a.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
    rb = sorted(b.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
    if ra != rb:
        bad += 1
        print(f"catalog: table {t} differs: {len(ra)} rows single, {len(rb)} rows merged; first difference:",
              next((x, y) for x, y in zip(ra + [None] * len(rb), rb + [None] * len(ra)) if x != y))
    else:
        print(f"catalog: table {t}: {len(ra)} rows equal")
sys.exit(1 if bad else 0)
PY
n_ref=$(find "$REF/feature-cache" -name '*.feat' | wc -l)
n_w=$(find "$W/feature-cache" -name '*.feat' | wc -l)
if diff -r -q "$REF/feature-cache" "$W/feature-cache" >/dev/null; then
  echo "features: $n_w cache entries, equal byte for byte to the single-machine cache ($n_ref)"
else
  echo "features: the caches differ ($n_ref single, $n_w cluster):"; diff -r -q "$REF/feature-cache" "$W/feature-cache" | head; fail=1
fi
grep -h "Base features:" "$W"/logs/sonokit-train-*.out | sed 's/^/train on the cluster: /'
grep -q "Base features: 0 computed" "$W"/logs/sonokit-train-*.out || { echo "train on the cluster computed base features" >&2; fail=1; }
a=$(sha256sum < "$REF/run/checkpoints/best.safetensors" | cut -c1-64); b=$(sha256sum < "$W/run/checkpoints/best.safetensors" | cut -c1-64)
if [[ "$a" == "$b" ]]; then echo "weights: best.safetensors equal bit for bit (sha256 ${a:0:16}…)"; else echo "weights differ: $a vs $b"; fail=1; fi
normalise() {  # a copy of folder $1 in $2 with each run's own time stamps (ISO 8601) and folder ($3) blanked
  rm -rf "$2"; cp -r "$1" "$2"
  local stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})'
  { grep -rlE "$stamp" "$2" 2>/dev/null || true; } | xargs -r sed -i -E "s/$stamp/TIME/g"
  { grep -rlF "$3" "$2" 2>/dev/null || true; } | xargs -r sed -i "s|$3|RUN|g"
}
normalise "$REF/predictions" "$T/cmp-single-predictions" "$REF"
normalise "$W/predictions" "$T/cmp-cluster-predictions" "$W"
if diff -r "$T/cmp-single-predictions" "$T/cmp-cluster-predictions" >/dev/null; then
  echo "predictions: $(find "$W/predictions" -type f | wc -l) files equal to the single-machine run ($(($(wc -l < "$W/predictions/predictions.csv") - 1)) studies)"
else
  echo "predictions differ:"; diff -r "$T/cmp-single-predictions" "$T/cmp-cluster-predictions" | head -20; fail=1
fi
normalise "$REF/run/eval-test" "$T/cmp-single-eval" "$REF"
normalise "$W/run/eval-test" "$T/cmp-cluster-eval" "$W"
if diff -r "$T/cmp-single-eval" "$T/cmp-cluster-eval" >/dev/null; then
  echo "evaluation: $(find "$W/run/eval-test" -type f | wc -l) files equal to the single-machine run"
else
  echo "evaluation differs:"; diff -r "$T/cmp-single-eval" "$T/cmp-cluster-eval" | head -20; fail=1
fi
[[ $fail -eq 0 ]] || { echo "test-cluster: FAILED" >&2; exit 1; }
echo "test-cluster: OK: the chain on Slurm ($SHARDS-task arrays) equals the single-machine run"
