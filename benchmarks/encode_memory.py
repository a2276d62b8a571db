"""Peak memory of `encode` on 1,000,000 rows: it streams in chunks, so nothing full-size is held beyond the output.

python benchmarks/encode_memory.py [--rows 250000 1000000] [--code-size 128] [--bs 4096] [--max-growth-mb 64]

Rows are Adult rows (14 columns) drawn with replacement; the model has the default recipe's shape (untrained: memory
does not depend on the weights). Linux (glibc) only: the peak is the kernel's high-water mark of resident memory
(VmHWM), reset just before `encode` runs, after freed heap memory is handed back; each `--rows` value runs in a fresh process, so no run inherits another's allocator
slack. One JSON line per `--rows` value, then a summary line. Streaming means the memory
held beyond the output (chunk buffers, activations, allocator slack) stays flat as rows grow; the script exits 1 if it
grows by more than `--max-growth-mb` from the smallest to the largest run (a full-size copy of the codes or the frame would).
"""
import argparse, ctypes, gc, json, platform, subprocess, sys, time, warnings
import numpy as np, torch
from tabae import adult, adult_columns, ae_data, ae_learner, encode

def status_mb(field:str) -> float:
    "A `VmRSS`/`VmHWM` line of /proc/self/status, in MiB."
    with open('/proc/self/status') as f: kb = next(int(l.split()[1]) for l in f if l.startswith(field + ':'))
    return kb / 1024

def reset_peak():
    "Hand freed heap memory back to the OS (glibc), then set the high-water mark to the resident size (Linux >= 4.0)."
    gc.collect()
    ctypes.CDLL('libc.so.6').malloc_trim(0)
    with open('/proc/self/clear_refs', 'w') as f: f.write('5')

def run(rows:int, code_size:int, bs:int) -> dict:
    "Encode `rows` Adult rows with an untrained default-shape model and measure the peak memory."
    df = adult()
    cats, conts = adult_columns('adult-14')
    learn = ae_learner(ae_data(df, cats, conts), code_size=code_size)
    src = df[cats + conts]
    big = src.iloc[np.random.default_rng(0).integers(0, len(src), rows)]
    reset_peak()
    base = status_mb('VmRSS')
    t = time.perf_counter()
    codes = encode(learn, big, bs=bs, progress=False)
    secs = time.perf_counter() - t
    peak, out = status_mb('VmHWM'), codes.memory_usage(index=False).sum() / 2**20
    return {'rows': rows, 'code_size': codes.shape[1], 'bs': bs, 'input_mb': round(big.memory_usage(deep=True).sum() / 2**20, 1),
            'output_mb': round(out, 1), 'baseline_rss_mb': round(base, 1), 'peak_rss_mb': round(peak, 1),
            'peak_over_baseline_mb': round(peak - base, 1), 'extra_beyond_output_mb': round(peak - base - out, 1),
            'seconds': round(secs, 2), 'rows_per_s': round(rows / secs), 'torch_threads': torch.get_num_threads(),
            'device': str(next(learn.model.parameters()).device), 'cpu': platform.processor() or platform.machine()}

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--rows', type=int, nargs='+', default=[250_000, 1_000_000], help='rows to encode, one run each')
    p.add_argument('--code-size', type=int, default=128)
    p.add_argument('--bs', type=int, default=4096)
    p.add_argument('--max-growth-mb', type=float, default=64., help='fail if the memory beyond the output grows more than this')
    p.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = p.parse_args()
    warnings.simplefilter('ignore')
    if args.child:
        print(json.dumps(run(args.rows[0], args.code_size, args.bs)))
        return
    cmd = [sys.executable, __file__, '--child', '--code-size', str(args.code_size), '--bs', str(args.bs), '--rows']
    res = [json.loads(subprocess.run(cmd + [str(n)], capture_output=True, text=True, check=True).stdout.splitlines()[-1]) for n in sorted(args.rows)]
    for r in res: print(json.dumps(r))
    growth = res[-1]['extra_beyond_output_mb'] - res[0]['extra_beyond_output_mb']
    streams = bool(growth <= args.max_growth_mb)
    print(json.dumps({'streams': streams, 'extra_growth_mb': round(growth, 1), 'from_rows': res[0]['rows'], 'to_rows': res[-1]['rows']}))
    sys.exit(0 if streams else 1)

if __name__ == '__main__': main()
