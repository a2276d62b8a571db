"""tabae: denoising autoencoders for tabular data, on fastai."""
__version__ = '0.1.0'
import warnings
warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated', category=FutureWarning)  # raised by fastai's import
from .errors import *
from .data import *
from .procs import *
from .noise import *
from .activations import *
from .model import *
from .loss import *
from .metrics import *
from .precision import *
from .learner import *
from .process import *
from .encode import *
from .validate import *
from .persist import *
from .evaluate import *
from .downstream import *
from .datasets import *
from .fit import *
from .patches import *
from .inference import *
from .sklearn import *

import types as _types
__all__ = [n for n, o in globals().items() if not n.startswith('_') and not isinstance(o, _types.ModuleType)]  # the submodules' names, not the submodules: `from tabae import *` replaced a user's `sklearn`, `metrics`, `warnings`
