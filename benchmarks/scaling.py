"""Scaling: seconds per training epoch and peak memory as rows and columns grow (each size in its own process); JSON lines.

python benchmarks/scaling.py [--rows 10000 100000 1000000] [--cols 10 100 500]
"""
import argparse, json, os, resource, subprocess, sys, time

def one(n_rows, n_cols):
    "Build data and learner for a synthetic table, then time one epoch after a warm-up of a few batches."
    import warnings; warnings.simplefilter('ignore')
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from synthetic import make_table
    from tabae import ae_data, ae_learner
    df, cats, conts = make_table(n_rows, n_cols)
    t = time.perf_counter()
    dls = ae_data(df, cats, conts, valid_pct=0.2)
    prep_s = time.perf_counter() - t
    learn = ae_learner(dls)
    with learn.no_bar(), learn.no_logging():
        t = time.perf_counter(); learn.fit(1, 3e-3); epoch_s = time.perf_counter() - t
    return dict(rows=n_rows, cols=n_cols, prep_s=round(prep_s, 3), epoch_s=round(epoch_s, 3),
                us_per_row=round(epoch_s / n_rows * 1e6, 3), peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                threads=torch.get_num_threads())

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--rows', type=int, nargs='+', default=[10_000, 100_000, 1_000_000])
    p.add_argument('--cols', type=int, nargs='+', default=[10, 100, 500])
    p.add_argument('--one', type=int, nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one: print(json.dumps(one(*a.one)), flush=True)
    else:
        sizes = [(r, 20) for r in a.rows] + [(10_000, c) for c in a.cols]
        for r, c in sizes: subprocess.run([sys.executable, __file__, '--one', str(r), str(c)], check=True)
