"""Speed: the article's pipeline vs tabae vs the bare model step, measured in one process; prints one JSON line.

python benchmarks/speed.py [--columns adult-14] [--epochs 3] [--no-fit]
"""
import argparse, contextlib, json, os, platform, sys, time, warnings
import numpy as np, pandas as pd, torch
from fastai.tabular.all import EarlyStoppingCallback, ranger
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import article
from adultbench import load
from tabae import ARTICLE_RECIPE, RECIPE, AEReport, FoldedEncoder, RecreatedLoss, adult_columns, amp_dtype, ae_data, ae_learner, encode, evaluate, fit_autoencoder

def learner_epoch(learn):
    "One training epoch (with its validation pass) of a fastai `Learner`, without progress bar or logging."
    def run():
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 3e-3)
    return run

def bare_epoch(model, loss, train, valid, bs, dtype):
    "One epoch of the same model, loss and optimizer on pre-built tensors (on the model's device): shuffled train steps, then a validation pass."
    opt = ranger(list(model.parameters()), lr=3e-3)
    dev = next(model.parameters()).device
    amp = (lambda: torch.autocast(dev.type, dtype=dtype)) if dtype else contextlib.nullcontext
    def run():
        n = len(train[0])
        model.train()
        idx = torch.randperm(n, device=dev)
        for i in range(0, n - n % bs, bs):
            b = idx[i:i + bs]
            xc, xf = train[0][b], train[1][b]
            with amp(): l = loss(model(xc, xf), xc, xf)
            l.backward(); opt.step(); opt.zero_grad()
        model.eval()
        with torch.no_grad(), amp():
            for i in range(0, len(valid[0]), bs): loss(model(valid[0][i:i + bs], valid[1][i:i + bs]), valid[0][i:i + bs], valid[1][i:i + bs])
    return run

def interleaved_seconds(runs:dict, rounds:int) -> dict:
    "Median seconds per call of each of `runs`, called in turn for `rounds` rounds after a warm-up round, so drift hits them alike."
    times = {k: [] for k in runs}
    for r in range(rounds + 1):
        for k, f in runs.items():
            t = time.perf_counter(); f(); dt = time.perf_counter() - t
            if r: times[k].append(dt)
    return {k: float(np.median(v)) for k, v in times.items()}

def heldout(learn, df):
    "Mean R2 and mean balanced accuracy of `learn`'s reconstruction of the held-out rows."
    s = evaluate(learn, df).summary
    return s.mean_r2, s.mean_balanced_accuracy

def main(columns, epochs, fit):
    tr, te = load()
    cats, conts = adult_columns(columns)
    res = dict(columns=columns, bs=1024, machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpu, torch {torch.__version__}, "
               f"{'cuda ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'}", amp=str(amp_dtype('cuda' if torch.cuda.is_available() else 'cpu')))
    torch.manual_seed(0)
    art = article.article_learner(tr, cats, conts)
    arch = {k: ARTICLE_RECIPE[k] for k in ('layers', 'ps', 'embed_p', 'swap_p')}
    dls = ae_data(tr, cats, conts)
    tab = ae_learner(dls, **arch)
    dev = dls.device
    train, valid = (dls.train.cats.to(dev), dls.train.conts.to(dev)), (dls.valid.cats.to(dev), dls.valid.conts.to(dev))
    loss = RecreatedLoss([len(dls.train_ds.classes[c]) for c in dls.train_ds.cat_names])
    rec = ae_learner(dls, **RECIPE)  # `fit_autoencoder`'s model: linear decoder, bins as inputs and targets, no dropout
    runs = {'article': learner_epoch(art), 'tabae': learner_epoch(tab), 'tabae_fp32': learner_epoch(ae_learner(dls, mixed_precision=False, **arch)),
            'tabae_recipe': learner_epoch(rec)}
    for name, dtype in (('fp32', None), ('amp', amp_dtype(dev))):
        runs[f'bare_{name}'] = bare_epoch(ae_learner(dls, mixed_precision=False, **arch).model, loss, train, valid, 1024, dtype)
    res.update({f'{k}_s_per_epoch': v for k, v in interleaved_seconds(runs, epochs).items()})
    n = len(te)
    tt = dls.test_dl(te)
    xc, xf = tt.cats.to(dev), tt.conts.to(dev)
    enc = tab.model.eval()
    def batches(f):
        def run():
            with torch.inference_mode():
                for i in range(0, n, 4096): f(xc[i:i + 4096], xf[i:i + 4096])
        return run
    encoders = {'article': lambda: article.article_encode(art, te), 'tabae': lambda: encode(tab, te), 'tabae_recipe': lambda: encode(rec, te),
                'bare_fp32': batches(lambda x, y: enc(x, y, encode=True)), 'folded_fp32': batches(FoldedEncoder(enc)),
                'folded_amp': batches(FoldedEncoder(enc, dtype=torch.bfloat16 if amp_dtype(dev) == torch.bfloat16 else torch.float32))}  # as `encode` folds
    res.update({f'{k}_encode_rows_per_s': n / v for k, v in interleaved_seconds(encoders, 3 * epochs).items()})
    a = res['article_s_per_epoch']
    res.update(ratio_tabae_epoch=res['tabae_s_per_epoch'] / a, ratio_bare_fp32_epoch=res['bare_fp32_s_per_epoch'] / a,
               ratio_bare_amp_epoch=res['bare_amp_s_per_epoch'] / a,
               ratio_tabae_encode=res['tabae_encode_rows_per_s'] / res['article_encode_rows_per_s'],
               ratio_recipe_epoch=res['tabae_recipe_s_per_epoch'] / a, ratio_recipe_encode=res['tabae_recipe_encode_rows_per_s'] / res['article_encode_rows_per_s'])
    if fit:
        torch.manual_seed(0)
        art = article.article_learner(tr, cats, conts)
        t = time.perf_counter()
        with art.no_bar(), art.no_logging(): art.fit_flat_cos(ARTICLE_RECIPE['epochs'], ARTICLE_RECIPE['lr'], cbs=EarlyStoppingCallback(patience=ARTICLE_RECIPE['patience']))
        res['article_fit_s'] = time.perf_counter() - t
        # the article's held-out quality, scored with tabae's report on the article's own reconstruction
        s = AEReport(te[cats + conts], article_reconstruct(art, te, cats, conts), cats, conts).summary
        res['article_heldout'] = dict(mean_r2=s.mean_r2, mean_balanced_acc=s.mean_balanced_accuracy)
        # the shortest `fit_autoencoder` budget whose fit reaches that quality, and its wall time
        for epochs in (4, 6, 8, 12, 16, 24, 40):
            t = time.perf_counter()
            learn = fit_autoencoder(tr, cats, conts, epochs=epochs, progress=False)
            fit_s = time.perf_counter() - t
            r2, bal = heldout(learn, te)
            res.setdefault('tabae_budgets', []).append(dict(epochs=epochs, fit_s=round(fit_s, 2), mean_r2=round(r2, 4), mean_balanced_acc=round(bal, 4)))
            if r2 >= s.mean_r2 and bal >= s.mean_balanced_accuracy:
                res.update(tabae_time_to_article_quality_s=fit_s, ratio_time_to_article_quality=fit_s / res['article_fit_s'])
                break
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in res.items()}

def article_reconstruct(learn, df, cats, conts):
    "The article's model's rebuild of `df`, decoded with its own procs."
    dl = learn.dls.test_dl(df)
    learn.model.eval()
    pc, pf = [], []
    with torch.no_grad():
        for b in dl:
            lc, f = learn.model(b[0], b[1])
            pc.append(RecreatedLoss(learn.loss_func.cat_dict).decodes((lc, f))[0].cpu()); pf.append(f.cpu())
    to = learn.dls.train_ds
    frame = pd.DataFrame(torch.cat(pf).numpy().astype(np.float64), columns=list(to.cont_names))
    for i, c in enumerate(to.cat_names): frame[c] = torch.cat(pc)[:, i].numpy()
    return to.new(frame[list(to.x_names)]).decode().items.set_axis(df.index)[cats + conts]

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--columns', default='adult-14')
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--no-fit', action='store_true', help='skip the time-to-quality comparison')
    a = p.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        print(json.dumps(main(a.columns, a.epochs, not a.no_fit)), flush=True)
