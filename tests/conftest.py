import os, warnings
import pandas as pd, pytest, torch
from tabae import adult, adult_columns, fit_autoencoder

SHARED = os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data', 'adult')

@pytest.fixture(scope='session')
def adult_df():
    "The real Adult training file: from ../shared when present (as CI lays it), else the bundled copy."
    p = os.path.join(SHARED, 'adult.csv')
    return pd.read_csv(p, na_values='?') if os.path.exists(p) else adult()

@pytest.fixture(scope='session')
def adult_test_df():
    p = os.path.join(SHARED, 'adult_test.csv')
    return pd.read_csv(p, na_values='?') if os.path.exists(p) else adult('test')

@pytest.fixture(scope='session')
def small_learn(adult_df):
    "A small autoencoder fit briefly on 3,000 real Adult rows (all 14 columns), shared by the API tests."
    cats, conts = adult_columns('adult-14')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return fit_autoencoder(adult_df.iloc[:3000], cats, conts, code_size=16, layers=[64, 32], epochs=2, bs=256, progress=False)
