"""`tabae demo`: the article end to end: fit the autoencoder, report on held-out rows, downstream scores on codes vs raw."""
from __future__ import annotations
import time, warnings
from fastai.tabular.all import *
from .data import _random_splits
from .datasets import ADULT_TARGET, adult, adult_columns, read_table
from .downstream import codes_dls
from .evaluate import evaluate
from .fit import _seeded, fit_autoencoder
from .validate import check_columns, infer_columns, user_columns

__all__ = ['demo_data', 'downstream_score', 'run_demo']

def demo_data(
    csv:str=None, # a `.csv`/`.parquet` file; None for the bundled Adult data
    target:str=None, # the target column: `salary` when the file has one, else its last column
    valid_pct:float=0.2, # share of a file's rows held out (Adult holds out `adult_test`)
    seed:int=0, # seed of the held-out split
    max_card:int=20, # integer columns with more distinct values than this are continuous (as fastai's `cont_cat_split`)
) -> tuple:
    "`(train, held_out, cat_names, cont_names, target)`: Adult with the article's 9 columns, or a file with inferred columns (held-out rows whose target class no training row has left out)."
    if csv is None: return (adult(), adult('test'), *adult_columns('adult-9'), ADULT_TARGET)
    df = read_table(csv)
    target = ifnone(target, ADULT_TARGET if ADULT_TARGET in df.columns else df.columns[-1])
    check_columns(df, [target], 'the target')
    df = df[df[target].notna()].reset_index(drop=True)
    cats, conts = infer_columns(df.drop(columns=target), max_card=max_card)
    cats = [c for c in cats if df[c].nunique() <= max(max_card, len(df) // 2)]  # drop identifiers and free text
    train, valid = (df.iloc[i] for i in _random_splits(len(df), valid_pct, seed))
    if not _is_regression(df[target]): valid = valid[valid[target].isin(set(train[target]))]  # a class only held-out rows have cannot be predicted
    return train, valid, cats, conts, target

def _is_regression(y:pd.Series) -> bool: return pd.api.types.is_float_dtype(y)

def downstream_score(learn:Learner, train:pd.DataFrame, valid:pd.DataFrame, target:str, raw:bool=False,
                     epochs:int=5, lr:float=1e-2, bs:int=512, seed:int=0) -> float:
    "Accuracy (RMSE for a float target) on `valid` of a `tabular_learner` fit on `train`'s codes, or on its raw columns when `raw`."
    with _seeded(seed), warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='The given NumPy array is not writable')  # fastai's tensors of pandas 3's read-only arrays
        reg = _is_regression(train[target])
        y_block = RegressionBlock() if reg else CategoryBlock()
        if raw:
            cats, conts = user_columns(learn.dls.train_ds)
            df = pd.concat([train, valid], ignore_index=True)
            dls = TabularDataLoaders.from_df(df, procs=[Categorify, FillMissing, Normalize], cat_names=cats, cont_names=conts,
                                             y_names=target, y_block=y_block, valid_idx=list(range(len(train), len(df))), bs=bs)
        else: dls = codes_dls(learn, train, target, valid_df=valid, y_block=y_block, bs=bs)
        clf = tabular_learner(dls, metrics=rmse if reg else accuracy)
        with clf.no_bar(), clf.no_logging():
            clf.fit_one_cycle(epochs, lr)
            return float(clf.validate()[1])

def run_demo(
    csv:str=None, # a `.csv`/`.parquet` file instead of the bundled Adult data (see `demo_data`)
    quick:bool=False, # 2,000 training rows, 1,000 held-out rows, 5 short epochs (for tests and CI)
) -> dict:
    "Fit the autoencoder (printing fastai's per-epoch table), then print its report on held-out rows and downstream scores on codes vs raw."
    start = time.perf_counter()
    train, valid, cats, conts, target = demo_data(csv)
    if quick: train, valid = (o.sample(min(len(o), n), random_state=0) for o, n in ((train, 2000), (valid, 1000)))
    held = 'adult_test' if csv is None else 'a random 20%'
    print(f"tabae demo on {csv or 'the bundled UCI Adult data'}: {len(train):,} training rows, {len(valid):,} held-out rows ({held})")
    print(f"categorical: {cats}\ncontinuous: {conts}\ntarget: {target!r}")
    print("\n1. Fit the autoencoder (early stopping on a 20% validation split of the training rows)")
    learn = fit_autoencoder(train, cats, conts, **(dict(epochs=5, bs=256) if quick else {}))
    print(f"\n2. Reconstruction of the {len(valid):,} held-out rows (never trained on)")
    report = evaluate(learn, valid)
    print(report)
    metric = 'rmse' if _is_regression(train[target]) else 'accuracy'
    print(f"\n3. Downstream tabular_learner fit on the training rows, {metric} on the held-out rows")
    kw = dict(epochs=2) if quick else {}
    scores = {'codes': downstream_score(learn, train, valid, target, **kw), 'raw': downstream_score(learn, train, valid, target, raw=True, **kw)}
    print(f"{metric} on the {learn.model.code_size}-d codes: {scores['codes']:.4f}")
    print(f"{metric} on the {len(cats + conts)} raw columns: {scores['raw']:.4f}")
    seconds = time.perf_counter() - start
    print(f"\ndone in {seconds:.0f}s")
    return dict(learn=learn, report=report, metric=metric, scores=scores, seconds=seconds)
