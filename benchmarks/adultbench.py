"""AdultBench: fit on adult.csv, judge on the held-out adult_test.csv; one JSON line per column set.

python benchmarks/adultbench.py [--columns adult-9 adult-14] [--kw '{"swap_p": 0.1}'] [--article] [--no-raw] [--recon] [--augment] [--dev SEED]
"""
import argparse, json, os, platform, time, warnings
import numpy as np, torch
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from tabae import ARTICLE_RECIPE, ADULT_TARGET, adult, adult_columns, encode, evaluate, fit_autoencoder, reconstruct

def load():
    "The training rows and the held-out rows (`tabae.adult`: the real UCI files, bundled)."
    return adult(), adult('test')

def probes(Xtr, ytr, Xte, yte):
    "Accuracy of a linear probe (scaled logistic regression) and of gradient boosting."
    lin = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)).fit(Xtr, ytr)
    hgb = HistGradientBoostingClassifier(random_state=0).fit(Xtr, ytr)
    return lin.score(Xte, yte), hgb.score(Xte, yte)

def raw_probes(tr, te, cats, conts, ytr, yte):
    "The same two models on the raw columns: one-hot + scaled for the linear model, native categories for HGB."
    lin = make_pipeline(make_column_transformer(
        (make_pipeline(SimpleImputer(strategy='constant', fill_value='#na#'), OneHotEncoder(handle_unknown='ignore')), cats),
        (make_pipeline(SimpleImputer(strategy='median'), StandardScaler()), conts)), LogisticRegression(max_iter=3000))
    hgb = make_pipeline(make_column_transformer(
        (OrdinalEncoder(handle_unknown='use_encoded_value', unknown_value=np.nan, encoded_missing_value=np.nan), cats),
        ('passthrough', conts)), HistGradientBoostingClassifier(random_state=0, categorical_features=list(range(len(cats)))))
    return lin.fit(tr, ytr).score(te, yte), hgb.fit(tr, ytr).score(te, yte)

def recon_probes(learn, tr, te, cats, conts, ytr, yte) -> dict:
    "The raw-column probes on the reconstructed rows (`recon`), and HGB on the raw columns with one column at a time reconstructed (`hgb_recon_<col>`)."
    rtr, rte = (reconstruct(learn, d)[cats + conts] for d in (tr, te))
    res = dict(zip(('linear_recon', 'hgb_recon'), raw_probes(rtr, rte, cats, conts, ytr, yte)))
    for c in cats + conts:
        a, b = tr[cats + conts].assign(**{c: rtr[c].to_numpy()}), te[cats + conts].assign(**{c: rte[c].to_numpy()})
        res[f'hgb_recon_{c}'] = raw_probes(a, b, cats, conts, ytr, yte)[1]
    return res

def augment_probes(ctr, cte, tr, te, cats, conts, ytr, yte) -> dict:
    "HGB on the codes with raw columns appended: each continuous column alone, all continuous, all categorical (native categories), all."
    enc = OrdinalEncoder(handle_unknown='use_encoded_value', unknown_value=np.nan, encoded_missing_value=np.nan).fit(tr[cats])
    ords = [enc.transform(d[cats]) for d in (tr, te)]
    def hgb(extra_tr, extra_te, n_cat=0):
        a, b = np.c_[np.asarray(ctr), extra_tr], np.c_[np.asarray(cte), extra_te]
        catf = list(range(a.shape[1] - n_cat, a.shape[1])) or None
        return HistGradientBoostingClassifier(random_state=0, categorical_features=catf).fit(a, ytr).score(b, yte)
    res = {f'hgb_codes+{c}': hgb(tr[[c]].to_numpy(), te[[c]].to_numpy()) for c in conts}
    res['hgb_codes+conts'] = hgb(tr[conts].to_numpy(), te[conts].to_numpy())
    res['hgb_codes+cats'] = hgb(*ords, n_cat=len(cats))
    res['hgb_codes+all'] = hgb(np.c_[tr[conts].to_numpy(), ords[0]], np.c_[te[conts].to_numpy(), ords[1]], n_cat=len(cats))
    return res

def dev_split(tr, seed:int):
    "A seeded 20% of the training file as the rows to judge on, and the other 80% to fit on: rows no choice of the recipe was scored on (they were all made on adult_test)."
    te = tr.sample(frac=0.2, random_state=seed)
    return tr.drop(te.index), te

def run(columns, kw, raw=True, deep_stack=False, amp=True, recon=False, augment=False, dev=None):
    tr, te = load()
    if dev is not None: tr, te = dev_split(tr, dev)
    cats, conts = adult_columns(columns)
    ytr, yte = tr[ADULT_TARGET], te[ADULT_TARGET]
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = fit_autoencoder(tr, cats, conts, progress=False, **({} if amp else {'mixed_precision': False}), **kw)
    fit_s, epochs = time.perf_counter() - t, len(learn.recorder.values)
    rep = evaluate(learn, te)
    ctr, cte = encode(learn, tr, mixed_precision=amp), encode(learn, te, mixed_precision=amp)
    res = dict(columns=columns, kw=kw, judged_on='adult_test' if dev is None else f'dev split {dev} of adult.csv', mixed_precision=amp, mean_r2=rep.summary.mean_r2, mean_balanced_acc=rep.summary.mean_balanced_accuracy,
               mean_f1=rep.summary.mean_f1_weighted)
    res['linear_codes'], res['hgb_codes'] = probes(ctr, ytr, cte, yte)
    res['code_zero_share'] = float((cte.to_numpy() == 0).mean())  # exact zeros among the judged rows' codes (a rectified code's share of inactive units)
    if deep_stack: res['linear_deep_stack'], res['hgb_deep_stack'] = probes(encode(learn, tr, deep_stack=True), ytr, encode(learn, te, deep_stack=True), yte)
    if raw: res['linear_raw'], res['hgb_raw'] = raw_probes(tr[cats + conts], te[cats + conts], cats, conts, ytr, yte)
    if recon: res.update(recon_probes(learn, tr, te, cats, conts, ytr, yte))
    if augment: res.update(augment_probes(ctr, cte, tr, te, cats, conts, ytr, yte))
    res.update(epochs=epochs, fit_s=fit_s, s_per_epoch=fit_s / epochs,
               per_column_r2=rep.continuous.r2.round(4).to_dict(), per_column_bal_acc=rep.categorical.balanced_accuracy.round(4).to_dict(),
               machine=f"{platform.machine()} {os.cpu_count()} cpu, torch {torch.__version__}, threads {torch.get_num_threads()}")
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in res.items()}

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--columns', nargs='+', default=['adult-9', 'adult-14'])
    p.add_argument('--kw', default='{}', help='JSON of fit_autoencoder keyword arguments')
    p.add_argument('--article', action='store_true', help="the article's recipe (tabae.ARTICLE_RECIPE)")
    p.add_argument('--no-raw', action='store_true', help='skip the raw-column baselines')
    p.add_argument('--fp32', action='store_true', help='no mixed precision, in training or encoding')
    p.add_argument('--deep-stack', action='store_true', help='also probe the deep-stack codes (all hidden activations)')
    p.add_argument('--recon', action='store_true', help='also the raw-column probes on the reconstructed rows, all columns and one at a time')
    p.add_argument('--augment', action='store_true', help='also HGB on the codes with raw columns appended (what trees miss in the codes)')
    p.add_argument('--dev', type=int, metavar='SEED', help='fit on 80%% of adult.csv and judge on the other, seeded 20%% (rows the recipe was not chosen on) instead of adult_test')
    a = p.parse_args()
    kw = {**(ARTICLE_RECIPE if a.article else {}), **json.loads(a.kw)}
    for c in a.columns: print(json.dumps(run(c, kw, raw=not a.no_raw, deep_stack=a.deep_stack, amp=not a.fp32, recon=a.recon, augment=a.augment, dev=a.dev)), flush=True)
