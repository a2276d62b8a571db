"""Peak memory of `codes_dls` with tabae's `Normalize` (a column at a time) against fastai's own (every column at once).

python benchmarks/codes_dls_memory.py [--rows 200000] [--code-size 128]

Rows are Adult rows (14 columns) drawn with replacement, target `salary`; the encoder has the default recipe's shape (untrained:
memory does not depend on the weights). Each run (fastai's `Normalize` or tabae's, codes alone or with `keep_raw`) is a fresh
process; the peak is the kernel's high-water mark of resident memory (VmHWM) over the `codes_dls` call, reset just before it
(Linux only, as `encode_memory.py`). fastai's own is passed as a subclass, which `codes_dls` keeps as given.
One JSON line per run, then one with the ratios.
"""
import argparse, json, platform, subprocess, sys, warnings
from fastai.tabular.all import Categorify, FillMissing, Normalize
from encode_memory import reset_peak, status_mb
from tabae import adult, adult_columns, ae_data, ae_learner, codes_dls

class FastaiNormalize(Normalize):
    "fastai's `Normalize` under another type, which `codes_dls` does not swap for tabae's."

def run(rows:int, code_size:int, normalize:str, keep_raw:bool) -> dict:
    "Build `codes_dls` on `rows` Adult rows and measure the memory it takes beyond what was resident before."
    df = adult()
    cats, conts = adult_columns('adult-14')
    learn = ae_learner(ae_data(df, cats, conts, bs=1024), code_size=code_size)
    big = df.sample(rows, replace=True, random_state=0).reset_index(drop=True)
    procs = [Categorify, FillMissing, FastaiNormalize if normalize == 'fastai' else Normalize]
    reset_peak()
    before = status_mb('VmRSS')
    dls = codes_dls(learn, big, 'salary', keep_raw=keep_raw, procs=procs)
    return {'rows': rows, 'normalize': normalize, 'keep_raw': keep_raw, 'codes_mb': round(rows * code_size * 4 / 2**20, 1),
            'peak_mb': round(status_mb('VmHWM') - before, 1), 'held_mb': round(status_mb('VmRSS') - before, 1), 'batches': len(dls.train)}

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--rows', type=int, default=200_000)
    p.add_argument('--code-size', type=int, default=128)
    p.add_argument('--one', nargs=2, metavar=('NORMALIZE', 'KEEP_RAW'), help=argparse.SUPPRESS)  # a single run, in its own process
    a = p.parse_args()
    warnings.simplefilter('ignore')
    if a.one:
        print(json.dumps(run(a.rows, a.code_size, a.one[0], a.one[1] == 'raw')))
        sys.exit()
    res = {}
    for keep in ('codes', 'raw'):
        for norm in ('fastai', 'tabae'):
            out = subprocess.run([sys.executable, __file__, '--rows', str(a.rows), '--code-size', str(a.code_size), '--one', norm, keep], capture_output=True, text=True, check=True)
            res[norm, keep] = json.loads(out.stdout.splitlines()[-1])
            print(json.dumps(res[norm, keep]), flush=True)
    print(json.dumps({'machine': platform.processor() or platform.machine(), **{f'peak_ratio_{k}': round(res['fastai', k]['peak_mb'] / res['tabae', k]['peak_mb'], 2) for k in ('codes', 'raw')}}))
