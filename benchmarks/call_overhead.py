"""Fixed cost per call on a wide model: `encode`, `reconstruct` and `predict` of one row, and the finite-weights check each call makes, against `isfinite` over every weight; prints one JSON line.

python benchmarks/call_overhead.py [--cols 400] [--rounds 7]
"""
import argparse, json, os, platform, statistics, sys, time, warnings
import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synthetic import make_table
from tabae import ae_data, ae_learner
from tabae.model import _finite_weights

def seconds(f, rounds:int) -> float:
    "Median seconds per call of `f` over `rounds` calls, after one warm-up call."
    f(); ts = []
    for _ in range(rounds):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return round(statistics.median(ts), 4)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--cols', type=int, default=400)
    p.add_argument('--rounds', type=int, default=7)
    a = p.parse_args()
    warnings.simplefilter('ignore')
    df, cats, conts = make_table(2000, a.cols)
    learn = ae_learner(ae_data(df, cats, conts, valid_pct=0.2))  # untrained: the cost per call does not depend on the weights' values
    one = df.iloc[:1]
    res = dict(cols=a.cols, params_m=round(sum(p.numel() for p in learn.model.parameters()) / 1e6, 1),
               encode_s=seconds(lambda: learn.encode(one, progress=False), a.rounds),
               reconstruct_s=seconds(lambda: learn.reconstruct(one, progress=False), a.rounds),
               predict_s=seconds(lambda: learn.predict(df.iloc[0]), a.rounds),
               finite_check_s=seconds(lambda: _finite_weights(learn.model), a.rounds),
               isfinite_every_weight_s=seconds(lambda: all(torch.isfinite(p).all() for p in learn.model.parameters()), a.rounds),
               threads=torch.get_num_threads(), machine=platform.processor() or platform.machine())
    res['finite_check_speedup'] = round(res['isfinite_every_weight_s'] / res['finite_check_s'], 1)
    print(json.dumps(res))
