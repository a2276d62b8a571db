import numpy as np
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

def test_every_csv_reader_reads_uci_files_alike(tmp_path):
    "`AEDataLoaders.from_csv` read '?' as a class (the command line and `read_table` as missing), so an encoder built one way encoded those rows differently read the other; a UCI file's ', ' kept ' workclass' and ' ?' in every reader but fastai's."
    from tabae import AEDataLoaders
    from tabae.cli import iter_table
    rng = np.random.default_rng(0)
    rows = [f"{rng.integers(20, 60)}, {rng.choice(['Private', 'State-gov', '?'])}, {rng.integers(1, 60)}" for _ in range(60)]
    (tmp_path / 'u.csv').write_text('age, workclass, hours\n' + '\n'.join(rows) + '\n')
    df = read_table(tmp_path / 'u.csv')
    assert list(df.columns) == ['age', 'workclass', 'hours'] and set(df.workclass.dropna()) == {'Private', 'State-gov'} and df.workclass.isna().any()
    assert next(iter_table(tmp_path / 'u.csv', columns=['workclass'])).workclass.equals(df.workclass)
    dls = AEDataLoaders.from_csv(tmp_path / 'u.csv', cat_names=['workclass'], cont_names=['age', 'hours'], bs=16)
    assert list(dls.train_ds.classes['workclass']) == ['#na#', 'Private', 'State-gov']
