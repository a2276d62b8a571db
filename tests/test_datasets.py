import numpy as np, pandas as pd
from tabae import ADULT_TARGET, adult, adult_columns, read_table

def test_adult_column_sets():
    "adult-14 is every Adult column but the target; adult-9 the article's nine."
    cats, conts = adult_columns('adult-14')
    assert len(cats + conts) == 14 and set(cats + conts) == set(adult().columns) - {ADULT_TARGET}
    cats, conts = adult_columns('adult-9')
    assert cats + conts == ['workclass', 'education', 'marital-status', 'occupation', 'relationship', 'race', 'age', 'fnlwgt', 'education-num']

def test_read_table_reads_question_marks_as_missing(tmp_path):
    "Adult's files mark gaps with '?': a CSV's numbers stay numbers and each '?' is missing."
    (tmp_path / 'a.csv').write_text('a,b\n1,x\n?,?\n')
    df = read_table(tmp_path / 'a.csv')
    assert df['a'].dtype == np.float64 and df.isna().sum().tolist() == [1, 1]
