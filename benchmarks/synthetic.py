"""Synthetic mixed-type tables for scaling benchmarks: `make_table(n_rows, n_cols)`."""
import numpy as np, pandas as pd

def make_table(n_rows:int, n_cols:int, cat_frac:float=0.5, na_frac:float=0.02, seed:int=0) -> tuple[pd.DataFrame, list, list]:
    "A frame of `n_rows` x `n_cols` correlated columns (categoricals of cardinality 2-200, normal/lognormal/integer continuous ones, some NaN)."
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_rows, 4)).astype(np.float32)  # latent factors so columns are related
    n_cat = int(round(n_cols * cat_frac))
    cols, cats, conts = {}, [], []
    for j in range(n_cols):
        s = z @ rng.standard_normal(4).astype(np.float32) + rng.standard_normal(n_rows).astype(np.float32)
        if j < n_cat:
            card = int(rng.integers(2, 200))
            edges = np.quantile(s, np.sort(rng.uniform(0, 1, card - 1)))
            col = pd.Categorical.from_codes(np.searchsorted(edges, s), [f'c{j}_{k}' for k in range(card)])
            name = f'cat{j}'; cats.append(name)
        else:
            kind = j % 3
            col = s if kind == 0 else np.exp(s / 2) if kind == 1 else np.round(s * 10)
            col = col.astype(np.float64)
            col[rng.uniform(size=n_rows) < na_frac] = np.nan
            name = f'cont{j}'; conts.append(name)
        cols[name] = col
    return pd.DataFrame(cols), cats, conts
