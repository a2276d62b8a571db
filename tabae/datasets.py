"""The UCI Adult data, shipped with tabae so the demo, tests and benchmarks run offline."""
from __future__ import annotations
from importlib.resources import files
from pathlib import Path
import pandas as pd
from .errors import TabaeInputError

__all__ = ['ADULT_CATS_9', 'ADULT_CONTS_9', 'ADULT_CATS_14', 'ADULT_CONTS_14', 'ADULT_TARGET', 'CSV_OPTIONS', 'adult', 'adult_columns', 'read_table']

ADULT_CATS_9 = ['workclass', 'education', 'marital-status', 'occupation', 'relationship', 'race']
"The article's six categorical Adult columns."
ADULT_CONTS_9 = ['age', 'fnlwgt', 'education-num']
"The article's three continuous Adult columns."
ADULT_CATS_14 = ADULT_CATS_9 + ['sex', 'native-country']
"All eight categorical Adult columns (the target left out)."
ADULT_CONTS_14 = ADULT_CONTS_9 + ['capital-gain', 'capital-loss', 'hours-per-week']
"All six continuous Adult columns."
ADULT_TARGET = 'salary'
"Adult's target: '<=50K' or '>50K'."

def adult(split:str='train') -> pd.DataFrame:
    "The bundled UCI Adult data: `split='train'` (32,561 rows) or `'test'` (the 16,281 held-out rows)."
    if split not in ('train', 'test'): raise TabaeInputError(f"`split` must be 'train' or 'test', got {split!r}")
    name = 'adult.csv.gz' if split == 'train' else 'adult_test.csv.gz'
    with files('tabae').joinpath('data', name).open('rb') as f: return pd.read_csv(f, compression='gzip', na_values='?')

def adult_columns(columns:str='adult-9') -> tuple[list, list]:
    "`(cat_names, cont_names)` of the article's 9 Adult columns (`'adult-9'`) or all 14 (`'adult-14'`)."
    sets = {'adult-9': (ADULT_CATS_9, ADULT_CONTS_9), 'adult-14': (ADULT_CATS_14, ADULT_CONTS_14)}
    if columns not in sets: raise TabaeInputError(f"`columns` must be one of {list(sets)}, got {columns!r}")
    return tuple(list(o) for o in sets[columns])

CSV_OPTIONS = dict(na_values='?', skipinitialspace=True)
"How tabae reads a CSV (`read_table`, `AEDataLoaders.from_csv`, the command line): `?` as missing and the spaces after a comma skipped, as in the UCI files (`a, ?, b`)."

def read_table(path:str|Path, **kwargs) -> pd.DataFrame:
    "Read a `.parquet` or `.csv` file (optionally compressed; `CSV_OPTIONS` unless `kwargs` say otherwise)."
    path = str(path)
    if path.endswith('.parquet'): return pd.read_parquet(path, **kwargs)
    return pd.read_csv(path, **{**CSV_OPTIONS, **kwargs})
