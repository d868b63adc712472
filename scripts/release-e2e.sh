#!/usr/bin/env bash
# The release configuration end to end: the tests build and run debug code, but users run the
# release build, whose hot modules drop Swift's bounds and overflow checks (-Ounchecked, see
# Package.swift). This builds `sonokit` in release mode and runs the whole path on SampleStudies/
# with a small network: ingest -> manifest split -> train (small, 64x64, 2 epochs) -> evaluate ->
# predict (--html --sr); every step must exit 0 and its outputs must be complete and consistent
# (checked below). Prints one line per step with its time; fails on the first problem.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product sonokit
sonokit="$(swift build -c release --show-bin-path)/sonokit"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
labels=SampleStudies/labels.csv
classes=(--classes benign,malignant --positive malignant)

step() {  # step NAME COMMAND...: runs it, prints its time, keeps its stdout in $work/NAME.out, stderr in NAME.log
    local name="$1"; shift
    local start=$SECONDS
    if ! "$@" > "$work/$name.out" 2> "$work/$name.log"; then
        echo "release-e2e: $name FAILED (exit $?):"; tail -20 "$work/$name.log"; exit 1
    fi
    echo "release-e2e: $name ok ($((SECONDS - start)) s)"
}
check() {  # check DESCRIPTION PYTHON-EXPRESSION (with json, csv, os, W = the work folder)
    python3 - "$work" "$2" <<'PY' || { echo "release-e2e: check failed: $1"; exit 1; }
import csv, json, os, sys
W, expression = sys.argv[1], sys.argv[2]
def rows(path): return list(csv.DictReader(line for line in open(path) if not line.startswith('#')))
sys.exit(0 if eval(expression) else 1)
PY
    echo "release-e2e: check ok: $1"
}

step ingest "$sonokit" ingest SampleStudies --catalog "$work/catalog.sqlite" --json
check "ingest indexed every labelled study's images" \
    "json.load(open(W + '/ingest.out'))['catalog']['studies'] >= len(rows('$labels'))"
step split "$sonokit" manifest split "$labels" --catalog "$work/catalog.sqlite" "${classes[@]}" \
    --ratios 0.6,0.2,0.2 --seed 7 -o "$work/splits.csv"
check "splits.csv gives every patient one of train/validation/test" \
    "{r['split'] for r in rows(W + '/splits.csv')} == {'train', 'validation', 'test'}"
step train "$sonokit" train "$labels" --catalog "$work/catalog.sqlite" "${classes[@]}" --splits "$work/splits.csv" \
    --model small --size 64 --epochs 2 --frames uniform:2 --normalize unit --seed 5 -o "$work/run"
check "the run has a model card, best weights and 2 epochs of finite history" \
    "json.load(open(W + '/run/model-card.json'))['weights_sha256'] and os.path.getsize(W + '/run/checkpoints/best.safetensors') > 0 \
     and [int(r['epoch']) for r in rows(W + '/run/history.csv')] in ([0, 1], [1, 2]) \
     and all(float(r['loss']) == float(r['loss']) and float(r['loss']) < 1e6 for r in rows(W + '/run/history.csv'))"
step evaluate "$sonokit" evaluate "$work/run" --split test --catalog "$work/catalog.sqlite" --bootstrap 200
check "evaluation.json has a study AUC in [0, 1] over as many studies as studies.csv lists" \
    "(lambda e: 0 <= e['study']['auc']['estimate'] <= 1 and e['study']['counts']['samples'] == len(rows(W + '/run/eval-test/studies.csv')) > 0)(json.load(open(W + '/run/eval-test/evaluation.json')))"
step predict "$sonokit" predict "$work/run" SampleStudies -o "$work/predict" --html --sr
check "predictions.csv has a probability in [0, 1] for each labelled study, with a JSON, HTML page and SR each" \
    "(lambda p: len(p) >= len(rows('$labels')) and all(0 <= float(r['probability']) <= 1 for r in p) \
       and all(os.path.exists(W + '/predict/' + r['study_key'] + '.json') for r in p))(rows(W + '/predict/predictions.csv')) \
     and len([f for f in os.listdir(W + '/predict/sr') if f.endswith('.dcm')]) >= len(rows('$labels')) \
     and sum(f.endswith('.html') for _, _, fs in os.walk(W + '/predict') for f in fs) >= len(rows('$labels'))"
echo "release-e2e: the release build passed ingest, split, train, evaluate and predict"
