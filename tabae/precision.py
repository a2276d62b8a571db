"""Mixed precision that also works on CPUs: bf16 autocast where the hardware has it."""
from __future__ import annotations
from fastai.callback.fp16 import MixedPrecision
from fastai.basics import *
from torch.amp import GradScaler, autocast

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

class AutoMixedPrecision(MixedPrecision):
    "fastai's `MixedPrecision` on the data's device: bf16 autocast on CUDA and bf16 CPUs, fp16 with loss scaling on other GPUs; off elsewhere, and where `to_fp16()`/`to_bf16()` added fastai's own or an earlier callback in `cbs` is one (two nest their autocasts wrongly)."
    def __init__(self, dtype:torch.dtype|None=None, **kwargs):
        super().__init__(**kwargs)
        self.dtype = dtype
    def before_fit(self):
        dev = torch.device(ifnone(self.dls.device, 'cpu'))
        dtype = ifnone(self.dtype, amp_dtype(dev))
        amps = sorted((cb for cb in self.learn.cbs if isinstance(cb, MixedPrecision)), key=lambda cb: isinstance(cb, AutoMixedPrecision))  # stable: fastai's first
        if dtype is None or amps[0] is not self: self.run = False; return  # one autocast at a time: `to_fp16()`/`to_bf16()`'s, else the first one in `cbs`
        self.kwargs['enabled'] = dtype == torch.float16
        self.autocast, self.learn.scaler, self.scales, self.entered = autocast(dev.type, dtype=dtype), GradScaler(dev.type, **self.kwargs), L(), False
    def before_batch(self): super().before_batch(); self.entered = True
    def after_loss(self): self.release()
    def after_cancel_batch(self): self.release()  # cancelled before `after_loss`: fastai's exit never ran
    def after_fit(self): self.release(); super().after_fit()
    def release(self):
        "Close the batch's autocast if it is open (an exception or a cancelled batch skipped `after_loss`): left open, it casts for the whole process, and its weight cache is never cleared."
        if getattr(self, 'entered', False): self.entered = False; self.autocast.__exit__(None, None, None)
