import numpy as np, pandas as pd
from tabae import ADULT_CATS_9, ADULT_TARGET, adult, adult_columns, read_table

def test_adult_column_sets():
    "adult-14 is every Adult column but the target; adult-9 the article's nine, and the default; each call gives new lists."
    cats, conts = adult_columns('adult-14')
    assert len(cats + conts) == 14 and set(cats + conts) == set(adult().columns) - {ADULT_TARGET}
    cats, conts = adult_columns('adult-9')
    assert cats + conts == ['workclass', 'education', 'marital-status', 'occupation', 'relationship', 'race', 'age', 'fnlwgt', 'education-num']
    cats.append('salary')  # a caller's edit reaches neither the next call nor the constants
    assert adult_columns() == adult_columns('adult-9') and 'salary' not in adult_columns()[0] + ADULT_CATS_9

def test_read_table_reads_question_marks_as_missing(tmp_path):
    "Adult's files mark gaps with '?': a CSV's numbers stay numbers and each '?' is missing."
    (tmp_path / 'a.csv').write_text('a,b\n1,x\n?,?\n')
    df = read_table(tmp_path / 'a.csv')
    assert df['a'].dtype == np.float64 and df.isna().sum().tolist() == [1, 1]

def test_read_table_takes_the_callers_na_values(tmp_path):
    "`read_table(path, na_values=...)` reads the caller's marker as missing (pandas' own arguments win over the '?' default)."
    (tmp_path / 'a.csv').write_text('a,b\n1,x\n-,y\n')
    assert read_table(tmp_path / 'a.csv', na_values='-').isna().sum().tolist() == [1, 0]
