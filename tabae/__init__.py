"""tabae: denoising autoencoders for tabular data, on fastai."""
__version__ = '0.1.0'
from .data import *
from .noise import *
from .model import *
from .loss import *
from .metrics import *
from .precision import *
from .learner import *
from .encode import *
from .evaluate import *
from .downstream import *
from .datasets import *
from .fit import *
from .patches import *
