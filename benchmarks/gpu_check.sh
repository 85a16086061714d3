#!/usr/bin/env bash
# The GPU check (CONTRIBUTING.md): run where a CUDA GPU, torch, transformers and timm are installed.
#
#     bash benchmarks/gpu_check.sh [OUTPUT_FOLDER]
#
# Runs the CUDA and timm tests (skipped on CI, which has neither), the model-level unit tests on that
# machine's torch, and the model benchmark, which picks the GPU itself. Everything printed is also saved.
set -uo pipefail
out=${1:-gpu_check}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # vitlib from this checkout, installed or not
python=${PYTHON:-python3}
{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    "$python" -c "import sys, torch, transformers; print('python', sys.version.split()[0], '| torch', torch.__version__, '| transformers', transformers.__version__)"
    "$python" -c "import timm; print('timm', timm.__version__)"
} 2>&1 | tee "$out/gpu.txt"
"$python" -m pytest -o addopts="" -p no:cacheprovider -q -rs \
    tests/test_cuda.py tests/test_timm.py tests/test_model.py tests/test_attention.py tests/test_encoder.py \
    tests/test_embedding.py tests/test_hub.py tests/test_patches.py tests/test_masking.py tests/test_train.py \
    2>&1 | tee "$out/pytest.txt"
tests=$?
"$python" benchmarks/bench_model.py 2>&1 | tee "$out/bench_model.txt"
bench=$?
exit $((tests || bench))
