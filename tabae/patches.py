"""`Learner` conveniences: `learn.encode(df)`, `learn.reconstruct(df)`, `learn.evaluate(df)`, `learn.codes_frame(df)`, `learn.codes_dls(...)`."""
from __future__ import annotations
import pandas as pd
from fastai.learner import Learner
from fastai.tabular.data import TabularDataLoaders
from fastcore.basics import patch
from fastcore.meta import delegates
from .downstream import codes_dls as _codes_dls, codes_frame as _codes_frame
from .encode import encode as _encode, reconstruct as _reconstruct
from .evaluate import AEReport, evaluate as _evaluate

__all__ = []

@patch
@delegates(_encode)
def encode(self:Learner, df:pd.DataFrame, **kwargs) -> pd.DataFrame:
    "The code of every row of `df` (see `tabae.encode`)."
    return _encode(self, df, **kwargs)

@patch
@delegates(_reconstruct)
def reconstruct(self:Learner, df:pd.DataFrame, **kwargs) -> pd.DataFrame:
    "The rebuild of `df` in labels and original units (see `tabae.reconstruct`)."
    return _reconstruct(self, df, **kwargs)

@patch
@delegates(_evaluate)
def evaluate(self:Learner, df:pd.DataFrame, **kwargs) -> AEReport:
    "The per-column reconstruction report of `df` (see `tabae.evaluate`)."
    return _evaluate(self, df, **kwargs)

@patch
@delegates(_codes_dls)
def codes_dls(self:Learner, df:pd.DataFrame, y_names:str|list, **kwargs) -> TabularDataLoaders:
    "`TabularDataLoaders` on the codes of `df` for `tabular_learner` (see `tabae.codes_dls`)."
    return _codes_dls(self, df, y_names, **kwargs)

@patch
@delegates(_codes_frame)
def codes_frame(self:Learner, df:pd.DataFrame, y_names:str|list|None=None, **kwargs) -> pd.DataFrame:
    "The codes of `df` beside its `y_names` as features, e.g. of new rows for a classifier trained on `codes_dls` (see `tabae.codes_frame`)."
    return _codes_frame(self, df, y_names, **kwargs)
