"""Data-parallel training in several processes (GPUs with nccl, or CPUs with gloo) with fastai's `DistributedTrainer` and Hugging Face accelerate.

Launch `tabae fit`, or any script that calls `fit_distributed`, once per process: `torchrun --standalone --nproc-per-node N -m tabae fit
train.csv --out model`, or `accelerate launch --multi_gpu --num_processes N -m tabae fit ...` (on CPUs as well); N GPUs use nccl, CPUs gloo.
"""
from __future__ import annotations
import torch.distributed as dist
from fastai.distributed import DistributedDL, DistributedTrainer
from fastai.tabular.all import *
from .data import TabDataLoaderIdentity
from .fit import fit_autoencoder
from .learner import AELearner

__all__ = ['DistributedTabDL', 'plain_batchnorm', 'AEDistributedTrainer', 'fit_distributed']

class DistributedTabDL(DistributedDL):
    "`DistributedDL` for a `TabDataLoaderIdentity`: an equal share of each epoch's rows per process, with gloo as well as nccl, and no 1-row training batch."
    def _broadcast(self, t, rank):
        t = LongTensor(t).to('cuda' if dist.get_backend() == 'nccl' else 'cpu')  # fastai's moves to CUDA even for gloo
        dist.broadcast(t, rank)
        return t.cpu().tolist()

    def _drop_one(self, n:int) -> bool: return self.dl.shuffle and n % self.bs == 1  # BatchNorm cannot train on one row

    def get_idxs(self):
        "This process's share of the epoch's rows (fastai's), without a trailing one-row training batch (BatchNorm cannot train on one row)."
        if not self.dl.n: self.n = self.n_padded = 0; return []  # fastai's divides by the row count (an empty validation split)
        idxs = super().get_idxs()
        return idxs[:-1] if self._drop_one(len(idxs)) else idxs

    def __len__(self):
        n = -(-self.dl.n // self.world_size)
        n -= self._drop_one(n)
        return n // self.bs if self.drop_last else -(-n // self.bs)

def plain_batchnorm(m:nn.Module) -> nn.Module:
    "`m` with each `nn.SyncBatchNorm` replaced by the `nn.BatchNorm1d` it came from, weights and statistics kept."
    for name, c in m.named_children():
        if isinstance(c, nn.SyncBatchNorm):
            bn = nn.BatchNorm1d(c.num_features, c.eps, c.momentum, c.affine, c.track_running_stats).to(c.running_mean.device)
            bn.load_state_dict(c.state_dict())
            setattr(m, name, bn.train(c.training))
        else: plain_batchnorm(c)
    return m

class AEDistributedTrainer(DistributedTrainer):
    "fastai's `DistributedTrainer` for tabae: `DistributedTabDL` batches, `SyncBatchNorm` on GPUs only, BatchNorm statistics averaged over the processes."
    def __init__(self, sync_bn:bool=None, **kwargs):
        try: import accelerate  # noqa: F401 (fastai's `DistributedTrainer` builds an `accelerate.Accelerator`)
        except ImportError as e: raise ImportError("Data-parallel training needs Hugging Face accelerate: pip install 'tabae[distributed]'") from e
        gpu = torch.cuda.is_available()
        super().__init__(sync_bn=ifnone(sync_bn, gpu), **{'cpu': not gpu, **kwargs})

    def _wrap_dl(self, dl):
        if isinstance(dl, TabDataLoaderIdentity): return DistributedTabDL(dl, device=self.learn.model.device)
        return super()._wrap_dl(dl)

    def after_train(self):
        "Average the BatchNorm running statistics, so that validation and the weights kept are the same in every process."
        for b in get_model(self.learn.model).buffers():
            if b.is_floating_point():
                dist.all_reduce(b)
                b /= dist.get_world_size()

    def after_fit(self):
        super().after_fit()
        self.learn.model = plain_batchnorm(self.learn.model)  # `FoldedEncoder` and `save_encoder` expect `BatchNorm1d`

@delegates(fit_autoencoder)
def fit_distributed(df:pd.DataFrame, cat_names:list=None, cont_names:list=None, sync_bn:bool=None, progress:bool=True, **kwargs) -> AELearner:
    "`fit_autoencoder` in each process of a `torchrun`/`accelerate launch` run, data-parallel; every process returns the same weights."
    if num_distrib() < 2: return fit_autoencoder(df, cat_names, cont_names, progress=progress, **kwargs)
    trainer = AEDistributedTrainer(sync_bn)  # starts the process group and picks this process's GPU before the data is built
    return fit_autoencoder(df, cat_names, cont_names, progress=progress and rank_distrib() == 0,
                           cbs=L(kwargs.pop('cbs', None)) + [trainer], **kwargs)
