#!/usr/bin/env bash
# Every GPU figure of issue 13 in one go, within a time budget (default 295 s, so under 5 minutes); installs
# nothing: run it after the README's setup (`make setup`, plus `pip install -e '.[bench]'` for the transformers
# reference rows).
#
#   benchmarks/gpu_check.sh              # on a machine with CUDA
#   benchmarks/gpu_check.sh --dry-run    # the same flow on CPU with tiny sizes (tests/test_gpu_check.py)
#
# Prints, in this order (each stage prints the seconds elapsed before it):
#   1. the device;
#   2. pretraining step samples/s and MFU, bf16 autocast, eager, vit-s/m/l, beside the transformers
#      ViTMAEForPreTraining reference where installed;
#   3. `radiofm annotate`'s real-time factor at 61.44 MS/s with the model on CUDA, fp32 and bf16 autocast, 40 ms
#      against 16 s (benchmarks/annotate_rtf.py; a 4 s capture drowned in start-up jitter in session 28);
#   4. an end-to-end `radiofm pretrain` on CUDA, eager (epoch JSON lines: samples/s, data_wait_frac, peak_rss_mb);
#   5. the step under torch.compile, vit-s then vit-m then vit-l, for as long as the budget lasts (compiling
#      takes 30-60 s per size; the table and its JSON are written after each size, so a cut keeps what finished).
# The device check has 60 s. Each later stage runs under `timeout`: at most its share of the budget, and never
# into the time kept for the stages after it, so the whole script ends within the budget however slow one stage
# is. A stage that fails (say, a transformers version without ViTMAE's API) prints a line and the script goes on.
# Environment: PYTHON (default .venv/bin/python); GPU_CHECK_BUDGET_S (default 295); GPU_CHECK_CORPUS (a recordings
# folder to pretrain on; default: 16 generated ISM recordings); GPU_CHECK_TESTS=1 first runs the GPU tests
# (tests/test_cuda.py, needs pytest; 95 s on an H200), with 100 s more budget for them.
set -euo pipefail
cd "$(dirname "$0")/.."

DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; fi
PY=${PYTHON:-.venv/bin/python}
BUDGET_S=${GPU_CHECK_BUDGET_S:-295}
TESTS=${GPU_CHECK_TESTS:-0}
if [[ $TESTS == 1 ]]; then BUDGET_S=$((BUDGET_S + 100)); fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if [[ $DRY == 1 ]]; then
    DEVICE=cpu; DTYPE=fp32; SIZES="vit-tiny"; IMG=32; BATCH=2; ROUNDS=1; WARMUP=0
    IMPLS="radiofm"; COMPILED_IMPLS="radiofm"; PRE_MODEL=vit-tiny; PRE_IMG=32; PRE_BATCH=2; N_REC=2
    ANN_CONFIGS="torch-nophy"; ANN_LONG_S=0.08  # the flow only: no physical-layer stage (~5 CPU-s a run)
    RESULTS="--results-dir $WORK"  # a dry run leaves benchmarks/results alone
    echo "== gpu_check dry run: CPU, tiny sizes, no compile =="
else
    DEVICE=cuda; DTYPE=bf16; SIZES="vit-s vit-m vit-l"; IMG=224; BATCH=128; ROUNDS=5; WARMUP=3
    IMPLS="radiofm transformers"; COMPILED_IMPLS="radiofm-compile"; PRE_MODEL=vit-s; PRE_IMG=224; PRE_BATCH=32
    N_REC=16; ANN_CONFIGS="torch,bf16"; ANN_LONG_S=16; RESULTS=""
fi

# stage NAME SHARE KEEP COMMAND...: run COMMAND for at most SHARE % of the budget, and never into the last KEEP % of
# it (the time kept for the stages after this one). Skipped when less than 5 s would be left.
stage() {
    local name=$1 share=$2 keep=$3
    shift 3
    local limit=$((BUDGET_S * share / 100)) left=$((BUDGET_S * (100 - keep) / 100 - SECONDS))
    if ((left < limit)); then limit=$left; fi
    echo "   (${SECONDS} s so far; this stage may take ${limit} s)"
    if ((limit < 5)); then
        echo "gpu_check: $name skipped: the time budget (${BUDGET_S} s) is spent"
        return 0
    fi
    timeout -k 5 "$limit" "$@" || echo "gpu_check: $name failed or ran out of time (exit $?)"
}

echo "== device =="
if [[ $DRY == 0 ]] && command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
timeout -k 5 60 "$PY" - "$DEVICE" <<'PYEOF'
import sys
import torch
dev = sys.argv[1]
print(f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}, threads {torch.get_num_threads()}")
if dev == "cuda":
    if not torch.cuda.is_available():
        sys.exit("gpu_check: this torch sees no CUDA device (use --dry-run on CPU)")
    print(f"device: {torch.cuda.get_device_name(0)}, bf16: {torch.cuda.is_bf16_supported()}")
PYEOF

if [[ $DRY == 0 && $TESTS == 1 ]]; then
    echo "== GPU tests (tests/test_cuda.py: the CUDA paths compute what the CPU computes) =="
    stage "GPU tests" 30 70 "$PY" -m pytest -q -m gpu -o addopts="" -p no:cacheprovider tests/test_cuda.py
fi

echo "== pretraining step throughput, eager ($DTYPE, batch $BATCH, ${IMG}x${IMG}) =="
# shellcheck disable=SC2086  # word splitting of the size and implementation lists is intended
stage "eager throughput" 15 65 "$PY" benchmarks/pretrain_throughput.py --device "$DEVICE" --dtype "$DTYPE" \
    --sizes $SIZES --impls $IMPLS --batch-size "$BATCH" --image-size "$IMG" \
    --rounds "$ROUNDS" --warmup "$WARMUP" --out-name "gpu_check_throughput" $RESULTS

echo "== annotate real-time factor (model on $DEVICE: $ANN_CONFIGS; 40 ms and ${ANN_LONG_S} s captures) =="
# shellcheck disable=SC2086  # $RESULTS is empty or two words
stage "annotate" 32 33 "$PY" benchmarks/annotate_rtf.py --work "$WORK/annotate" --configs "$ANN_CONFIGS" \
    --frames 1 --long-s "$ANN_LONG_S" --name gpu_check_annotate_rtf $RESULTS

echo "== end-to-end radiofm pretrain ($PRE_MODEL, batch $PRE_BATCH, eager) =="
CORPUS=${GPU_CHECK_CORPUS:-}
if [[ -z "$CORPUS" ]]; then
    CORPUS="$WORK/corpus"
    stage "corpus" 8 28 "$PY" -m radiofm generate ism --out "$CORPUS" --recordings "$N_REC" --seed 0 --workers 1 \
        --no-progress
fi
stage "pretrain" 15 20 "$PY" -m radiofm pretrain --data "$CORPUS" --cache-dir "$WORK/cache" --model "$PRE_MODEL" \
    --image-size "$PRE_IMG" --epochs 3 --batch-size "$PRE_BATCH" --device "$DEVICE" --compile off \
    --val-fraction 0 --out "$WORK/run" --no-progress

echo "== pretraining step throughput, torch.compile ($DTYPE, batch $BATCH; sizes until the budget ends) =="
# shellcheck disable=SC2086
stage "compiled throughput" 100 0 "$PY" benchmarks/pretrain_throughput.py --device "$DEVICE" --dtype "$DTYPE" \
    --sizes $SIZES --impls $COMPILED_IMPLS --batch-size "$BATCH" --image-size "$IMG" \
    --rounds "$ROUNDS" --warmup "$WARMUP" --out-name "gpu_check_throughput_compiled" $RESULTS
echo "== gpu_check done =="
echo "total: ${SECONDS} s (budget ${BUDGET_S} s)"
