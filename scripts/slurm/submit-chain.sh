#!/usr/bin/env bash
# Submits the SonoKit job chain to Slurm, each step waiting for the previous one (afterok: a
# failed task stops everything after it):
#   ingest (array of SHARDS) -> catalog merge + split -> features (array) -> train -> evaluate
#                                                                              \-> predict (array) -> predict merge
# Settings come from the environment (see chain.env.example). Prints the job ids, one per line
# ("step id"), and nothing else on standard output.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for v in SONOKIT EXPORT_DIR LABELS WORK CLASSES POSITIVE SHARDS CPUS_PER_TASK SPLIT_ARGS MODEL_ARGS TRAIN_ARGS; do
  [[ -n "${!v:-}" ]] || { echo "submit-chain: \$$v is not set (see $here/chain.env.example)" >&2; exit 2; }
done
export SONOKIT EXPORT_DIR LABELS WORK CLASSES POSITIVE SHARDS CPUS_PER_TASK SPLIT_ARGS MODEL_ARGS TRAIN_ARGS
mkdir -p "$WORK/logs"
common=(--parsable --export=ALL --chdir="$WORK" --cpus-per-task="$CPUS_PER_TASK")
[[ -n "${PARTITION:-}" ]] && common+=(--partition="$PARTITION")
array=(--array="0-$((SHARDS - 1))" --output="$WORK/logs/%x-%A_%a.out")
single=(--output="$WORK/logs/%x-%j.out")
submit() { local id; id=$(sbatch "${common[@]}" "$@"); echo "${id%%;*}"; }

ingest=$(submit "${array[@]}" "$here/ingest.sbatch")
merge=$(submit "${single[@]}" --dependency="afterok:$ingest" "$here/catalog-merge.sbatch")
features=$(submit "${array[@]}" --dependency="afterok:$merge" "$here/features.sbatch")
train=$(submit "${single[@]}" --dependency="afterok:$features" "$here/train.sbatch")
evaluate=$(submit "${single[@]}" --dependency="afterok:$train" "$here/evaluate.sbatch")
predict=$(submit "${array[@]}" --dependency="afterok:$train" "$here/predict.sbatch")
predict_merge=$(submit "${single[@]}" --dependency="afterok:$predict" "$here/predict-merge.sbatch")
printf '%s %s\n' ingest "$ingest" catalog-merge "$merge" features "$features" train "$train" evaluate "$evaluate" \
  predict "$predict" predict-merge "$predict_merge"
