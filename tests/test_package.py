"""The package's namespace: what `from tabae import *` gives."""
import sys, types
import tabae

def test_star_import_gives_the_public_names_and_no_module():
    "`from tabae import *` (the README's first line) replaced a user's `sklearn`, `metrics` and `warnings` with tabae's submodules; it now gives every submodule's `__all__` and no module."
    ns = {}
    exec('import sklearn, warnings\nfrom sklearn import metrics\nfrom fastai.tabular.all import *\nfrom tabae import *', ns)
    assert ns['sklearn'] is sys.modules['sklearn'] and ns['metrics'] is sys.modules['sklearn.metrics'] and ns['warnings'] is sys.modules['warnings']
    assert not [k for k, v in ns.items() if isinstance(v, types.ModuleType) and v.__name__.startswith('tabae')]
    subs = [m for name, m in sys.modules.items() if name.startswith('tabae.') and hasattr(m, '__all__')]
    assert len(subs) >= 20 and {n for m in subs if m.__name__ not in ('tabae.cli', 'tabae.demo', 'tabae.distributed') for n in m.__all__} <= set(tabae.__all__)
    assert all(ns[n] is getattr(tabae, n) for n in tabae.__all__)
