"""`fit_autoencoder` on small tables: random subsets of adult.csv, scored on adult_test.csv; prints one JSON line per fit.

python benchmarks/small_tables.py [--sizes 300 600 1000 3000 10000] [--seeds 0 1] [--recipes default bs1024_track0] [--probes]
Each subset is fitted with today's defaults and with the earlier ones (`bs=1024, track_from=0`: one batch per
epoch below 1,280 rows, best weights and early stopping tracked from the first epoch), or the `--recipes` named.
`--probes` adds adultbench's linear probe and HGB, fitted on the subset's codes (raw columns: `lin_raw`, `hgb_raw`)
and scored on adult_test.
"""
import argparse, json, time, warnings
from adultbench import load, probes, raw_probes
from tabae import ADULT_TARGET, adult_columns, encode, fit_autoencoder

RECIPES = {'default': {}, 'bs1024_track0': dict(bs=1024, track_from=0.), 'no_bin_inputs': dict(bin_inputs=False), 'relu_code': dict(code_act='relu'), 'no_input_skip': dict(input_skip=False)}

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--sizes', type=int, nargs='+', default=[300, 600, 1000, 3000, 10000])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    ap.add_argument('--columns', default='adult-14')
    ap.add_argument('--recipes', nargs='+', default=['default', 'bs1024_track0'], choices=list(RECIPES))
    ap.add_argument('--probes', action='store_true')
    a = ap.parse_args()
    tr, te = load()
    cats, conts = adult_columns(a.columns)
    for n in a.sizes:
        for seed in a.seeds:
            sub = tr.sample(n, random_state=seed)
            raw = {k: round(v, 4) for k, v in zip(('lin_raw', 'hgb_raw'), raw_probes(sub, te, cats, conts, sub[ADULT_TARGET], te[ADULT_TARGET]))} if a.probes else {}
            for name in a.recipes:
                kw = RECIPES[name]
                t = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore')
                    learn = fit_autoencoder(sub, cats, conts, seed=seed, progress=False, **kw)
                    s = learn.evaluate(te).summary
                    fit_s = time.perf_counter() - t
                    if a.probes: raw.update({k: round(v, 4) for k, v in zip(('lin', 'hgb'), probes(encode(learn, sub), sub[ADULT_TARGET], encode(learn, te), te[ADULT_TARGET]))})
                print(json.dumps(dict(columns=a.columns, rows=n, seed=seed, recipe=name, bs=learn.dls.train.bs, epochs=len(learn.recorder.values),
                                      r2=round(s.mean_r2, 4), bal=round(s.mean_balanced_accuracy, 4), fit_s=round(fit_s, 1), **raw)), flush=True)
