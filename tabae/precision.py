"""Mixed precision that also works on CPUs: bf16 autocast where the hardware has it."""
from __future__ import annotations
from fastai.callback.fp16 import MixedPrecision
from fastai.basics import *
from torch.amp import GradScaler, autocast
from .errors import TabaeInputError

__all__ = ['amp_dtype', 'AutoMixedPrecision']

def amp_dtype(device:torch.device|str|None=None) -> torch.dtype|None:
    "The autocast dtype that is safe and fast on `device`: bf16 on CUDA and bf16-capable CPUs, fp16 on older GPUs, else None."
    device = torch.device(ifnone(device, 'cpu'))
    if device.type == 'cuda': return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == 'cpu':
        cpu = torch.cpu
        bf16 = any(getattr(cpu, f, lambda: False)() for f in ('_is_avx512_bf16_supported', '_is_amx_tile_supported'))
        return torch.bfloat16 if bf16 else None
    return None

def _autocast_depth() -> int:
    "How many autocast regions are open: torch counts them to know when to drop its cache of cast weights."
    depth = torch.autocast_increment_nesting()
    torch.autocast_decrement_nesting()
    return depth - 1

class _AutocastState:
    "The process's autocast settings (CPU and CUDA, cache, open regions) when made; `restore` puts them back, however many regions were opened since."
    def __init__(self):
        self.depth, self.cache = _autocast_depth(), torch.is_autocast_cache_enabled()
        self.devices = {d: (torch.is_autocast_enabled(d), torch.get_autocast_dtype(d)) for d in ('cpu', 'cuda')[:1 + torch.cuda.is_available()]}
    def restore(self):
        "Close the regions opened since, as `autocast.__exit__` does (the cache dropped when none is left), and put the settings back; doing it twice changes nothing."
        for _ in range(_autocast_depth() - self.depth): torch.autocast_decrement_nesting()
        if self.depth == 0: torch.clear_autocast_cache()
        for d, (on, dtype) in self.devices.items(): torch.set_autocast_enabled(d, on); torch.set_autocast_dtype(d, dtype)
        torch.set_autocast_cache_enabled(self.cache)

class AutoMixedPrecision(MixedPrecision):
    "fastai's `MixedPrecision` on the data's device: bf16 autocast on CUDA and bf16 CPUs, fp16 with loss scaling on other GPUs; off elsewhere, and where `to_fp16()`/`to_bf16()` added fastai's own or an earlier callback in `cbs` is one (two nest their autocasts wrongly)."
    def __init__(self, dtype:torch.dtype|None=None, **kwargs):
        if 'amp_mode' in kwargs or dtype not in (None, torch.bfloat16, torch.float16):
            raise TabaeInputError(f"`AutoMixedPrecision` picks the dtype for the device; force one with `dtype=torch.bfloat16` or `torch.float16`, got {kwargs.get('amp_mode', dtype)!r}")
        super().__init__(**kwargs)
        self.dtype = dtype
    def before_fit(self):
        self.release()  # a fit of this callback that raised under a plain `Learner` (`AELearner.fit` releases at once)
        dev = torch.device(ifnone(self.dls.device, 'cpu'))
        dtype = ifnone(self.dtype, amp_dtype(dev))
        amps = sorted((cb for cb in self.learn.cbs if isinstance(cb, MixedPrecision)), key=lambda cb: isinstance(cb, AutoMixedPrecision))  # stable: fastai's first
        if dtype is None or amps[0] is not self: self.run = False; return  # one autocast at a time: `to_fp16()`/`to_bf16()`'s, else the first one in `cbs`
        self.kwargs['enabled'] = dtype == torch.float16
        self.autocast, self.learn.scaler, self.scales, self.state = autocast(dev.type, dtype=dtype), GradScaler(dev.type, **self.kwargs), L(), _AutocastState()
    def before_batch(self): self.release(); super().before_batch()  # released first: a batch, epoch or phase cancelled before `after_loss` never closed its region
    def after_loss(self): self.release()
    def after_fit(self): self.release(); super().after_fit()
    def release(self):
        "Put autocast back as it was before the fit: a batch cancelled or stopped by an exception before `after_loss` left it on for the whole process, with a weight cache never cleared."
        if getattr(self, 'state', None) is not None: self.state.restore()
