"""Data-parallel training in 2 CPU processes (gloo) launched by torchrun, as `fit_distributed` and as `tabae fit`.

Run as a script (`torchrun --standalone --nproc-per-node 2 tests/test_distributed.py OUT_DIR`), this file is the worker of
`test_two_processes_agree_and_encode_like_one`: each process saves its weights, its codes of held-out rows and what it trained on.
"""
import copy, json, os, random, subprocess, sys, warnings
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from fastai.callback.core import Callback
from fastai.torch_core import find_bs, rank_distrib
from safetensors.torch import load_file, save_file
import tabae
from tabae import AutoMixedPrecision, FoldedEncoder, adult, adult_columns, ae_data, encode, evaluate, fit_autoencoder, load_encoder
from tabae.distributed import DistributedTabDL, fit_distributed, plain_batchnorm

CATS, CONTS = adult_columns('adult-9')
N_TRAIN, N_TEST = 3000, 1000
# valid_pct=0: with no validation pass, only tabae's averaging of the BatchNorm statistics makes the processes agree
ARGS = dict(code_size=8, layers=[32, 16], epochs=8, lr=1e-2, bs=128, valid_pct=0., seed=0)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(tabae.__file__)))  # the workers import this tabae (a worktree's too), not whichever is installed
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore', 'PYTHONPATH': os.pathsep.join(filter(None, [ROOT, os.environ.get('PYTHONPATH')])),
       'PYTHONFAULTHANDLER': '1'}  # a process that aborts prints its Python stacks into the failure message
TORCHRUN = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2']

def _failure(r:subprocess.CompletedProcess) -> str:
    "The launcher's output tails, with the Python stacks of any aborted process (faulthandler prints them before a long module list)."
    i = r.stderr.find('Fatal Python error')
    j = r.stderr.find('Extension modules', i)
    stacks = r.stderr[i:j if j >= 0 else None] if i >= 0 else ''
    return r.stdout[-3000:] + stacks + r.stderr[-3000:]

class CountRows(Callback):
    "Count the training rows that this process sees, per epoch."
    def before_fit(self): self.rows = []
    def before_train(self): self.rows.append(0)
    def after_batch(self):
        if self.training: self.rows[-1] += find_bs(self.yb)

def _worker(out:Path):
    df, test = adult().iloc[:N_TRAIN], adult('test').iloc[:N_TEST]
    counter = CountRows()
    learn = fit_distributed(df, CATS, CONTS, progress=False, cbs=counter, **ARGS)
    r = rank_distrib()
    save_file({k: v.contiguous() for k, v in learn.model.state_dict().items()}, out/f'weights{r}.safetensors')
    encode(learn, test).to_parquet(out/f'codes{r}.parquet')
    (out/f'run{r}.json').write_text(json.dumps({'rows': counter.rows, 'losses': [v[0] for v in learn.recorder.values],
                                                'plain_model': type(learn.model).__name__, 'cbs': [type(c).__name__ for c in learn.cbs]}))

@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        yield

def test_two_processes_agree_and_encode_like_one(tmp_path):
    r = subprocess.run(TORCHRUN + [__file__, str(tmp_path)], capture_output=True, text=True, env=ENV, timeout=400)
    assert r.returncode == 0, _failure(r)
    w0, w1 = load_file(tmp_path/'weights0.safetensors'), load_file(tmp_path/'weights1.safetensors')
    assert w0.keys() == w1.keys() and all(torch.equal(w0[k], w1[k]) for k in w0), 'the processes ended with different weights'
    c0, c1 = pd.read_parquet(tmp_path/'codes0.parquet'), pd.read_parquet(tmp_path/'codes1.parquet')
    pd.testing.assert_frame_equal(c0, c1)
    runs = [json.loads((tmp_path/f'run{i}.json').read_text()) for i in (0, 1)]
    assert runs[0]['losses'] == runs[1]['losses']  # gathered over the processes
    assert all(o['plain_model'] == 'TabularAE' and 'AEDistributedTrainer' not in o['cbs'] for o in runs)
    assert runs[0]['rows'] == runs[1]['rows'] == [N_TRAIN // 2] * ARGS['epochs']  # each process trains on half of each epoch

    test = adult('test').iloc[:N_TEST]
    learn = fit_autoencoder(adult().iloc[:N_TRAIN], CATS, CONTS, progress=False, **{**ARGS, 'bs': 2 * ARGS['bs']})  # the same global batch
    ref, rs = encode(learn, test), evaluate(learn, test).summary
    assert list(c0.columns) == list(ref.columns) and c0.index.equals(ref.index) and np.isfinite(c0.to_numpy()).all()
    learn.model.load_state_dict(w0)  # the same procs (same rows), the two-process weights
    np.testing.assert_allclose(encode(learn, test).to_numpy(), c0.to_numpy(), atol=1e-5)
    rd = evaluate(learn, test).summary  # the same data, model, steps and global batch rebuild the held-out rows about as well in 2 processes as in 1
    assert rd['mean_r2'] > 0.5 and rs['mean_r2'] > 0.5, (rd, rs)
    assert abs(rd['mean_balanced_accuracy'] - rs['mean_balanced_accuracy']) < 0.03 and abs(rd['mean_r2'] - rs['mean_r2']) < 0.05, (rd, rs)

def test_tabae_fit_under_torchrun(adult_df, tmp_path):
    "`torchrun -m tabae fit` trains in two processes and only the first one saves and prints."
    adult_df.iloc[:1500].to_parquet(tmp_path/'train.parquet')
    r = subprocess.run(TORCHRUN + ['-m', 'tabae', 'fit', str(tmp_path/'train.parquet'), '--drop', 'salary', '--out', str(tmp_path/'model'),
                                   '--code-size', '8', '--layers', '32', '16', '--epochs', '2', '--bs', '256', '--quiet'],
                       capture_output=True, text=True, env=ENV, timeout=400, cwd=tmp_path)
    assert r.returncode == 0, _failure(r)
    assert r.stdout.count('Saved the encoder to') == 1 and 'in 2 processes' in r.stdout
    codes = encode(load_encoder(tmp_path/'model'), adult_df.iloc[1500:1600])
    assert codes.shape == (100, 8) and np.isfinite(codes.to_numpy()).all()

def _ddl(dl, rank:int, world:int=2) -> DistributedTabDL:
    "Process `rank`'s `DistributedTabDL` on `dl` with no process group: the broadcast from rank 0 is the identity."
    res = DistributedTabDL(dl, rank=rank, world_size=world)
    res._broadcast = lambda t, r: t
    return res

def test_training_metrics_score_every_process_rows(small_learn, adult_test_df):
    "With 2 processes each scores its share of the validation rows (the second padded with a repeated row) and fastai gathers them: `recon_r2` and `cat_acc` equal the one-process values on all the rows."
    dl = small_learn.dls.test_dl(adult_test_df.iloc[:125])  # odd: one padded row to trim
    amp = small_learn.cbs.filter(lambda c: isinstance(c, AutoMixedPrecision))
    with small_learn.removed_cbs(amp): want = small_learn.validate(dl=dl)  # float32 throughout, as `model` below
    model, rank1 = small_learn.model.eval(), {'conts': [], 'cats': []}
    with torch.no_grad():
        for b in _ddl(dl, 1):  # what process 1 would gather, batch by batch
            (logits, conts) = model(*b[:2])
            rank1['cats'].append((logits, b[2])); rank1['conts'].append((conts, b[3]))
    seen = {'conts': 0, 'cats': 0}
    def gather(b, cpu=True, gather=True):
        "fastai's all-gather for 2 processes: this process's batch, then process 1's."
        if not isinstance(b, tuple): return b.detach()  # the loss, which the recorder gathers too
        key = 'cats' if not b[1].is_floating_point() else 'conts'
        other = rank1[key][seen[key]]
        seen[key] += 1
        return tuple(torch.cat([x.detach(), y]) for x, y in zip(b, other))
    dl0 = _ddl(dl, 0)
    dl0._to_detach = gather
    with small_learn.removed_cbs(amp): got = small_learn.validate(dl=dl0)
    assert len(list(_ddl(dl, 0))) == len(rank1['cats']) == seen['cats'] > 0 and sum(len(x[0]) for x in rank1['cats']) == 63  # 62 rows + the repeat
    assert got[1] == pytest.approx(want[1], abs=1e-5) and got[2] == pytest.approx(want[2], abs=1e-6)

def test_distributed_dl_shards_evenly_without_one_row_batches(adult_df):
    "98 training rows in 2 processes with bs 16: 49 each, the last one dropped so that no training batch has 1 row; validation keeps all."
    dls = ae_data(adult_df.iloc[:122], CATS, CONTS, valid_pct=0.2, bs=16)
    assert (len(dls.train_ds), len(dls.valid_ds)) == (98, 24)
    idxs = []
    for r in (0, 1):
        dls.train.rng = random.Random(0)  # as the same permutation broadcast from rank 0
        idxs.append(_ddl(dls.train, r).get_idxs())
    assert len(idxs[0]) == len(idxs[1]) == 48 and not set(idxs[0]) & set(idxs[1])
    for r in (0, 1):
        tr, va = _ddl(dls.train, r), _ddl(dls.valid, r)
        assert [len(b[0]) for b in tr] == [16, 16, 16] and len(tr) == 3
        assert [len(b[0]) for b in va] == [12] and len(va) == 1
    empty = ae_data(adult_df.iloc[:50], CATS, CONTS, valid_pct=0., bs=16).valid
    assert all(len(d) == 0 and list(d) == [] for d in (_ddl(empty, 0), _ddl(empty, 1)))

def test_plain_batchnorm_undoes_sync_batchnorm(small_learn):
    "After a `sync_bn` fit the model gets its `BatchNorm1d` back, so that `FoldedEncoder` and `save_encoder` see the usual layout."
    model = copy.deepcopy(small_learn.model).cpu().eval()
    synced = torch.nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(model))
    assert any(isinstance(m, torch.nn.SyncBatchNorm) for m in synced.modules())
    back = plain_batchnorm(synced).eval()
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in back.modules())
    assert [type(m) for m in back.modules()] == [type(m) for m in model.modules()]
    cats, conts = small_learn.dls.valid.one_batch()[:2]
    cats, conts = cats.cpu(), conts.cpu()
    with torch.no_grad():
        assert torch.allclose(FoldedEncoder(back)(cats, conts), model(cats, conts, encode=True), atol=1e-4)

def test_fit_distributed_without_a_launcher_is_fit_autoencoder(adult_df, monkeypatch):
    monkeypatch.delenv('WORLD_SIZE', raising=False)
    df = adult_df.iloc[:800]
    a = fit_distributed(df, CATS, CONTS, progress=False, **{**ARGS, 'epochs': 1})
    b = fit_autoencoder(df, CATS, CONTS, progress=False, **{**ARGS, 'epochs': 1})
    pd.testing.assert_frame_equal(encode(a, df.iloc[:50]), encode(b, df.iloc[:50]))

if __name__ == '__main__':
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        _worker(Path(sys.argv[1]))

def test_finite_loss_names_columns_under_a_distributed_loader(adult_df):
    "A process's loader is a `DistributedTabDL`, whose `conts` is the DataFrame, not a tensor: a NaN loss still names the unnormalized columns."
    from fastai.tabular.all import Categorify, FillMissing
    from tabae import TabaeInputError, ae_learner
    dls = ae_data(adult_df.iloc[:2000], CATS, CONTS, procs=[Categorify, FillMissing], bs=256)
    learn = ae_learner(dls, code_size=4, layers=[16])
    learn.dls.loaders[0] = _ddl(dls.train, 0)
    assert isinstance(learn.dls.train, DistributedTabDL)
    with pytest.raises(TabaeInputError, match=r"The training loss became nan .*'fnlwgt'.*which have no `Normalize`"):
        with learn.no_bar(), learn.no_logging(): learn.fit(2, 5e-3)

def test_distributed_loader_length_counts_its_batches_when_rows_do_not_divide(adult_df):
    "25 validation rows (13 a process, one padded) and 99 training rows over 2 processes: `len` is the batches each yields, which fastai's schedules count on."
    dls = ae_data(adult_df.iloc[:124], CATS, CONTS, valid_idx=list(range(99, 124)), bs=12)
    for dl in (dls.train, dls.valid):
        for r in (0, 1):
            dl.rng = random.Random(0)
            d = _ddl(dl, r)
            assert len(d) == len(list(d)) > 0

def test_only_rank_0_shows_progress(monkeypatch):
    "Under torchrun only the first process draws the bar and the epoch table."
    import tabae.distributed as D
    seen, rank = [], [0]
    monkeypatch.setattr(D, 'num_distrib', lambda: 2)
    monkeypatch.setattr(D, 'rank_distrib', lambda: rank[0])
    monkeypatch.setattr(D, 'AEDistributedTrainer', lambda sync_bn: None)
    monkeypatch.setattr(D, 'fit_autoencoder', lambda *a, **kw: seen.append(kw['progress']))
    for rank[0] in (0, 1): D.fit_distributed(pd.DataFrame(), [], [])
    assert seen == [True, False]

def test_without_accelerate_the_trainer_says_what_to_install(monkeypatch):
    "fastai's `DistributedTrainer` needs Hugging Face accelerate, an optional dependency: its absence is named with the install command."
    from tabae.distributed import AEDistributedTrainer
    monkeypatch.setitem(sys.modules, 'accelerate', None)  # `import accelerate` raises ImportError
    with pytest.raises(ImportError, match=r"Data-parallel training needs Hugging Face accelerate: pip install 'tabae\[distributed\]'"): AEDistributedTrainer()
