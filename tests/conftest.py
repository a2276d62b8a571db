import warnings
import pytest
from tabae import adult, adult_columns, fit_autoencoder

@pytest.fixture(scope='session')
def adult_df():
    "The real Adult training file (the bundled copy of ../shared/data/adult)."
    return adult()

@pytest.fixture(scope='session')
def adult_test_df():
    "The real UCI held-out Adult file."
    return adult('test')

@pytest.fixture(scope='session')
def small_learn(adult_df):
    "A small autoencoder fit briefly on 3,000 real Adult rows (all 14 columns), shared by the API tests."
    cats, conts = adult_columns('adult-14')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return fit_autoencoder(adult_df.iloc[:3000], cats, conts, code_size=16, layers=[64, 32], epochs=2, bs=256, progress=False)
