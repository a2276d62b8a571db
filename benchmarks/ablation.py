"""Ablation levers that need more than `fit_autoencoder` arguments; prints one JSON line.

python benchmarks/ablation.py COLUMNS 'JSON kwargs of fit_autoencoder' [symlog] [emb2]
  symlog: fit on sign(x)*log1p(|x|) of the continuous columns with |skew| > 3 (training rows), invert the reconstruction
  emb2:   embeddings twice fastai's default size
"""
import json, sys, time, warnings
import numpy as np
from fastai.tabular.all import emb_sz_rule
from adultbench import load, probes
from tabae import ADULT_TARGET, AEReport, adult_columns, encode, fit_autoencoder, reconstruct

def run(columns:str, kw:dict, flags:list) -> dict:
    tr, te = load()
    cats, conts = adult_columns(columns)
    heavy = [c for c in conts if abs(tr[c].skew()) > 3] if 'symlog' in flags else []
    fwd = lambda d: d.assign(**{c: np.sign(d[c]) * np.log1p(d[c].abs()) for c in heavy})
    if 'emb2' in flags: kw = {**kw, 'emb_szs': {c: 2 * emb_sz_rule(tr[c].nunique() + 1) for c in cats}}
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = fit_autoencoder(fwd(tr), cats, conts, progress=False, **kw)
    fit_s = time.perf_counter() - t
    rec = reconstruct(learn, fwd(te))
    for c in heavy: rec[c] = np.sign(rec[c]) * np.expm1(rec[c].abs())
    s = AEReport(te[cats + conts], rec, cats, conts).summary
    lin, hgb = probes(encode(learn, fwd(tr)), tr[ADULT_TARGET], encode(learn, fwd(te)), te[ADULT_TARGET])
    return dict(columns=columns, kw={k: v for k, v in kw.items() if k != 'emb_szs'}, flags=flags, symlog=heavy, r2=round(s.mean_r2, 4),
                bal=round(s.mean_balanced_accuracy, 4), lin=round(lin, 4), hgb=round(hgb, 4), epochs=len(learn.recorder.values), fit_s=round(fit_s))

if __name__ == '__main__': print(json.dumps(run(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:])), flush=True)
