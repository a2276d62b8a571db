"""Ablation levers that need more than `fit_autoencoder` arguments; prints one JSON line.

python benchmarks/ablation.py COLUMNS 'JSON kwargs of fit_autoencoder' [symlog] [emb2] [bins|dbins] [bintarg] [lindec] [contw=W] [entw] [contrast=L:T] [codeact=A] [ranktarg=W] [recon]
  symlog: fit on sign(x)*log1p(|x|) of the continuous columns with |skew| > 3 (training rows), invert the reconstruction
  emb2:   embeddings twice fastai's default size
  bins:   one more categorical column per continuous one, its 16-quantile bin (training edges): inputs and targets
  dbins:  as bins, with edges at quantiles of each column's distinct training values (tails get bins too)
  bintarg: the bins as targets only: `bin_targets=16` (the recipe's default since this lever won; the rows in RESULTS ran it as a callback here)
  lindec: a linear decoder, `decoder='linear'` (likewise the default now)
  contw=W: the continuous columns' squared errors weighted W against the categorical cross-entropies (1 in RecreatedLoss)
  entw:    each categorical column's cross-entropy weighted by (mean entropy of the categorical columns) / (its entropy), training marginals
  contrast=L:T: add L * InfoNCE (temperature T) between the codes of two swap-noised views of each training batch (SCARF-like)
  ranktarg=W: targets only: a linear head on the decoder's output predicts each number's rank among its distinct training
             values (piecewise linear between 256 quantiles of them, scaled to unit variance); W x its mean squared error is added
  recon:  also the raw-column probes on the reconstructed rows (adultbench.py --recon); not with symlog (it rebuilds untransformed rows)
  codeact=A: an activation on the code (relu: `code_act='relu'`; or mish), so the code the probes read is sparse or bounded below;
             crelu: half as many code units, each read as relu(z) and relu(-z) (the code keeps its width)
             topkK: a k-sparse code (Makhzani & Frey): per row the K largest rectified units kept, the others 0
"""
import json, sys, time, warnings
import numpy as np, torch, torch.nn.functional as F
from fastai.tabular.all import Callback, emb_sz_rule, nn
from adultbench import load, probes, recon_probes
from tabae import ADULT_TARGET, AEReport, adult_columns, encode, fit_autoencoder, reconstruct

class ContWeight(Callback):
    "Weight the continuous part of `RecreatedLoss` by `w` (per row: mean cross-entropy + `w` * mean squared error)."
    def __init__(self, w:float): self.w = w
    def before_fit(self):
        lf, w = self.learn.loss_func, self.w
        def row_losses(preds, cat_targs, cont_targs):
            logits, conts = preds
            return lf.cross_entropy(logits, cat_targs).mean(1) + w * ((conts.float() - cont_targs.float()) ** 2).mean(1)
        lf.row_losses = row_losses

class EntropyWeight(Callback):
    "Weight each categorical column's cross-entropy by the mean marginal entropy of the categorical columns over its own (training rows)."
    def before_fit(self):
        lf, cats = self.learn.loss_func, self.learn.dls.train_ds.cats
        h = np.array([-(p * np.log(p)).sum() for p in (cats[c].value_counts(normalize=True).to_numpy() for c in cats)])
        w = torch.tensor(np.minimum(h.mean() / np.maximum(h, 1e-3), 5.), dtype=torch.float32)  # capped: near-constant columns
        def row_losses(preds, cat_targs, cont_targs):
            logits, conts = preds
            return (lf.cross_entropy(logits, cat_targs) * w.to(logits.device)).mean(1) + ((conts.float() - cont_targs.float()) ** 2).mean(1)
        lf.row_losses = row_losses

class Contrast(Callback):
    "Add `lam` * symmetric InfoNCE (temperature `tau`) between the training forward's code and the code of a second noisy view."
    def __init__(self, lam:float, tau:float): self.lam, self.tau = lam, tau
    def before_fit(self): self.hook = self.learn.model.decoder.register_forward_pre_hook(lambda m, i: setattr(self, 'z1', i[0]))
    def after_fit(self): self.hook.remove()
    def after_loss(self):
        if not self.training: return
        z1 = F.normalize(self.z1.float(), dim=1)
        z2 = F.normalize(self.learn.model(*self.learn.xb, encode=True).float(), dim=1)
        logits, y = z1 @ z2.T / self.tau, torch.arange(len(z1), device=z1.device)
        self.learn.loss_grad = self.learn.loss_grad + self.lam * (F.cross_entropy(logits, y) + F.cross_entropy(logits.T, y)) / 2

class CReLU(nn.Module):
    "`[relu(z), relu(-z)]`: twice the width of `z`, each pair one nonzero value, `z` = the difference."
    def forward(self, z): return torch.cat([F.relu(z), F.relu(-z)], 1)

class TopK(nn.Module):
    "Per row, the `k` largest values of `relu(z)` kept and every other unit 0."
    def __init__(self, k:int):
        super().__init__()
        self.k = k
    def forward(self, z):
        v, i = F.relu(z).topk(self.k, dim=1)
        return torch.zeros_like(z).scatter(1, i, v)

class CodeAct(Callback):
    "Put activation `act` ('mish', 'topkK': `TopK(K)`, or 'crelu': a last layer half as wide, then `CReLU`) after the encoder's last layer, so the code is its output."
    def __init__(self, act:str): self.act = act
    def before_fit(self):
        m = self.learn.model
        if self.act == 'crelu':
            lin = m.layers[-1][0]
            m.layers[-1][0] = nn.Linear(lin.in_features, lin.out_features // 2).to(lin.weight.device)
            m.layers.append(CReLU())
            self.learn.create_opt()
        elif self.act.startswith('topk'): m.layers.append(TopK(int(self.act[4:])))
        else: m.layers.append(dict(mish=nn.Mish)[self.act]())

def interp(x, xp, fp):
    "Piecewise-linear interpolation of `x` through the points `(xp, fp)` (`xp` ascending), constant beyond the ends."
    i = torch.searchsorted(xp, x.contiguous()).clamp(1, len(xp) - 1)
    t = ((x - xp[i - 1]) / (xp[i] - xp[i - 1]).clamp_min(1e-12)).clamp(0, 1)
    return fp[i - 1] + t * (fp[i] - fp[i - 1])

class RankTargets(Callback):
    "Targets only: a linear head on the decoder's output predicts each continuous column's rank among its distinct training values (0-1, piecewise linear, scaled to unit variance); `w` x mean squared error added."
    def __init__(self, w:float=1., n:int=256): self.w, self.n = w, n
    def before_fit(self):
        m, conts, dev = self.learn.model, self.learn.dls.train.conts.float(), next(self.learn.model.parameters()).device
        self.knots = []
        for j in range(conts.shape[1]):
            u = torch.unique(conts[:, j])
            xp = u if len(u) <= self.n else torch.unique(torch.quantile(u, torch.linspace(0, 1, self.n)))
            self.knots.append((xp.to(dev), torch.linspace(0, 1, len(xp)).to(dev)))
        m.rank_head = nn.Linear(m.cat_head[0].in_features, conts.shape[1]).to(dev)
        self.hook = m.decoder.register_forward_hook(lambda mod, i, o: setattr(self, 'h', o))
        self.learn.create_opt()
    def after_fit(self): self.hook.remove()
    def after_loss(self):
        if not self.training: return
        targ = self.learn.yb[1].float()
        r = torch.stack([interp(targ[:, j], xp, fp) if len(xp) > 1 else torch.full_like(targ[:, j], 0.5) for j, (xp, fp) in enumerate(self.knots)], 1)
        pred = self.learn.model.rank_head(self.h).float()
        self.learn.loss_grad = self.learn.loss_grad + self.w * ((pred - (r - 0.5) * 12 ** 0.5) ** 2).mean()

def add_bins(tr, te, conts, n=16, distinct=False) -> list:
    "Add `<col>_bin`, the `n`-quantile bin of each continuous column (edges from the training rows, or their distinct values), to both frames; their names."
    for c in conts:
        edges = np.unique(np.quantile(tr[c].unique() if distinct else tr[c], np.linspace(0, 1, n + 1)[1:-1]))
        for d in (tr, te): d[c + '_bin'] = np.searchsorted(edges, d[c], side='right').astype(str)
    return [c + '_bin' for c in conts]

def run(columns:str, kw:dict, flags:list) -> dict:
    tr, te = load()
    cats, conts = adult_columns(columns)
    extra = add_bins(tr, te, conts, distinct='dbins' in flags) if 'bins' in flags or 'dbins' in flags else []
    kw = {**kw, **({'decoder': 'linear'} if 'lindec' in flags else {}), **({'bin_targets': 16} if 'bintarg' in flags else {}),
          **({'code_act': 'relu'} if 'codeact=relu' in flags else {})}  # the package's own levers now
    cbs = [ContWeight(float(f[6:])) for f in flags if f.startswith('contw=')]
    cbs += [EntropyWeight()] if 'entw' in flags else []
    cbs += [Contrast(*map(float, f[9:].split(':'))) for f in flags if f.startswith('contrast=')]
    cbs += [CodeAct(f[8:]) for f in flags if f.startswith('codeact=') and f != 'codeact=relu']
    cbs += [RankTargets(float(f[9:])) for f in flags if f.startswith('ranktarg=')]
    if cbs: kw = {**kw, 'cbs': cbs}
    heavy = [c for c in conts if abs(tr[c].skew()) > 3] if 'symlog' in flags else []
    fwd = lambda d: d.assign(**{c: np.sign(d[c]) * np.log1p(d[c].abs()) for c in heavy})
    if 'emb2' in flags: kw = {**kw, 'emb_szs': {c: 2 * emb_sz_rule(tr[c].nunique() + 1) for c in cats}}
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = fit_autoencoder(fwd(tr), cats + extra, conts, progress=False, **kw)
    fit_s = time.perf_counter() - t
    if heavy:  # scored in original units: the rebuilt transformed columns inverted
        rec = reconstruct(learn, fwd(te))[cats + conts]
        for c in heavy: rec[c] = np.sign(rec[c]) * np.expm1(rec[c].abs())
        rep = AEReport(te[cats + conts], rec, cats, conts)
    else: rep = learn.evaluate(te)
    lin, hgb = probes(encode(learn, fwd(tr)), tr[ADULT_TARGET], encode(learn, fwd(te)), te[ADULT_TARGET])
    res = dict(columns=columns, kw={k: v for k, v in kw.items() if k not in ('emb_szs', 'cbs')}, flags=flags, symlog=heavy, r2=round(rep.summary.mean_r2, 4),
               bal=round(rep.categorical.balanced_accuracy[cats].mean(), 4), lin=round(lin, 4), hgb=round(hgb, 4), epochs=len(learn.recorder.values), fit_s=round(fit_s))  # bal: the table's own columns, not the `bins` flags' added ones
    if 'recon' in flags: res.update({k: round(v, 4) for k, v in recon_probes(learn, tr, te, cats, conts, tr[ADULT_TARGET], te[ADULT_TARGET]).items()})
    return res

if __name__ == '__main__': print(json.dumps(run(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:])), flush=True)
