#!/usr/bin/env bash
# The GPU check, run on the device machine from the repo root (its image has torch but no fastai).
# Prepare here first (wheels are pure Python, carried as the ignored folder benchmarks/wheels):
#   pip download --no-deps -d benchmarks/wheels fastai==2.8.12 fastcore fasttransform fastprogress fastdownload plum-dispatch beartype
# then run it with the device tool: command "bash benchmarks/gpu_check.sh", carry ["benchmarks/wheels"].
set -euo pipefail
python3 -m pip install -q --no-deps --no-index benchmarks/wheels/*.whl
export PYTHONPATH=$PWD
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -c "import torch, fastai; print('torch', torch.__version__, 'fastai', fastai.__version__, 'cuda', torch.cuda.is_available())"
python3 -m pytest -q -m cuda -p no:cacheprovider tests/
python3 benchmarks/speed.py --columns adult-14 --epochs 3 --no-fit
