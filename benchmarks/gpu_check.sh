#!/usr/bin/env bash
# Every GPU figure of issue 13 in one go (8 minutes on one H200 in session 28); installs nothing: run it after
# the README's setup (`make setup`, plus `pip install -e '.[bench]'` for the transformers reference rows).
#
#   benchmarks/gpu_check.sh              # on a machine with CUDA
#   benchmarks/gpu_check.sh --dry-run    # the same flow on CPU with tiny sizes (tests/test_gpu_check.py)
#
# Prints: the device; the GPU tests (tests/test_cuda.py, needs pytest); pretraining step samples/s and MFU, bf16
# autocast, eager and torch.compile, vit-s/m/l (plus the transformers ViTMAEForPreTraining reference where
# installed); an end-to-end `radiofm pretrain` on CUDA with --compile (epoch JSON lines: samples/s,
# data_wait_frac, peak_rss_mb); `radiofm annotate`'s real-time factor at 61.44 MS/s with the model on CUDA, fp32
# and bf16 autocast, 40 ms against 16 s (benchmarks/annotate_rtf.py; a 4 s capture drowned in start-up jitter).
# Environment: PYTHON (default .venv/bin/python), GPU_CHECK_CORPUS (a recordings folder to pretrain on;
# default: a small generated ISM corpus), GPU_CHECK_STAGE_S (time limit of the pretrain and annotate stages, default
# 150), GPU_CHECK_THROUGHPUT_S (of the throughput stage, which compiles three models; default twice the stage limit).
# The throughput table is printed and its JSON written after each model size, so a stage cut short keeps the sizes
# it finished; an implementation that fails (say, a transformers version without ViTMAE's API) is skipped, not fatal.
# GPU_CHECK_TESTS=0 skips the GPU tests (95 s on an H200). Session 28's run took 478 s with them (a 4 s annotate
# capture then; 16 s now); each stage prints the seconds elapsed before it.
set -euo pipefail
cd "$(dirname "$0")/.."

DRY=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; fi
PY=${PYTHON:-.venv/bin/python}
STAGE_S=${GPU_CHECK_STAGE_S:-150}
THROUGHPUT_S=${GPU_CHECK_THROUGHPUT_S:-$((2 * STAGE_S))}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if [[ $DRY == 1 ]]; then
    DEVICE=cpu; DTYPE=fp32; SIZES="vit-tiny"; IMG=32; BATCH=2; ROUNDS=1; WARMUP=0
    IMPLS="radiofm"; PRE_MODEL=vit-tiny; PRE_IMG=32; PRE_BATCH=2; PRE_COMPILE=off; N_REC=2
    ANN_CONFIGS="torch"; ANN_LONG_S=0.08
    RESULTS="--results-dir $WORK"  # a dry run leaves benchmarks/results alone
    echo "== gpu_check dry run: CPU, tiny sizes, no compile =="
else
    DEVICE=cuda; DTYPE=bf16; SIZES="vit-s vit-m vit-l"; IMG=224; BATCH=128; ROUNDS=5; WARMUP=3
    IMPLS="radiofm radiofm-compile transformers"; PRE_MODEL=vit-s; PRE_IMG=224; PRE_BATCH=32; PRE_COMPILE=on
    N_REC=16; ANN_CONFIGS="torch,bf16"; ANN_LONG_S=16; RESULTS=""
fi

echo "== device =="
if [[ $DRY == 0 ]] && command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
"$PY" - "$DEVICE" <<'EOF'
import sys
import torch
dev = sys.argv[1]
print(f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}, threads {torch.get_num_threads()}")
if dev == "cuda":
    if not torch.cuda.is_available():
        sys.exit("gpu_check: this torch sees no CUDA device (use --dry-run on CPU)")
    print(f"device: {torch.cuda.get_device_name(0)}, bf16: {torch.cuda.is_bf16_supported()}")
EOF

if [[ $DRY == 0 && ${GPU_CHECK_TESTS:-1} == 1 ]]; then
    echo "   (${SECONDS} s so far)"
    echo "== GPU tests (tests/test_cuda.py: the CUDA paths compute what the CPU computes) =="
    timeout "$STAGE_S" "$PY" -m pytest -q -m gpu -o addopts="" -p no:cacheprovider tests/test_cuda.py \
        || echo "gpu_check: GPU tests failed or ran out of time (exit $?)"
fi

echo "   (${SECONDS} s so far)"
echo "== pretraining step throughput ($DTYPE, batch $BATCH, ${IMG}x${IMG}) =="
# shellcheck disable=SC2086  # word splitting of the size and implementation lists is intended
timeout "$THROUGHPUT_S" "$PY" benchmarks/pretrain_throughput.py --device "$DEVICE" --dtype "$DTYPE" \
    --sizes $SIZES --impls $IMPLS --batch-size "$BATCH" --image-size "$IMG" \
    --rounds "$ROUNDS" --warmup "$WARMUP" --out-name "gpu_check_throughput" $RESULTS \
    || echo "gpu_check: throughput stage failed or ran out of time (exit $?)"

echo "   (${SECONDS} s so far)"
echo "== end-to-end radiofm pretrain ($PRE_MODEL, batch $PRE_BATCH, --compile $PRE_COMPILE) =="
CORPUS=${GPU_CHECK_CORPUS:-}
if [[ -z "$CORPUS" ]]; then
    CORPUS="$WORK/corpus"
    "$PY" -m radiofm generate ism --out "$CORPUS" --recordings "$N_REC" --seed 0 --workers 1 --no-progress > /dev/null
fi
timeout "$STAGE_S" "$PY" -m radiofm pretrain --data "$CORPUS" --cache-dir "$WORK/cache" --model "$PRE_MODEL" \
    --image-size "$PRE_IMG" --epochs 2 --batch-size "$PRE_BATCH" --device "$DEVICE" --compile "$PRE_COMPILE" \
    --val-fraction 0 --out "$WORK/run" --no-progress \
    || echo "gpu_check: pretrain stage failed or ran out of time (exit $?)"

echo "   (${SECONDS} s so far)"
echo "== annotate real-time factor (model on $DEVICE: $ANN_CONFIGS; 40 ms and ${ANN_LONG_S} s captures) =="
# shellcheck disable=SC2086  # $RESULTS is empty or two words
timeout "$STAGE_S" "$PY" benchmarks/annotate_rtf.py --work "$WORK/annotate" --configs "$ANN_CONFIGS" --frames 1 \
    --long-s "$ANN_LONG_S" --name gpu_check_annotate_rtf $RESULTS \
    || echo "gpu_check: annotate stage failed or ran out of time (exit $?)"
echo "== gpu_check done =="
echo "total: ${SECONDS} s"
