"""The `tabae` command line (fastcore `call_parse`): `tabae demo`; each command has `--help`."""
from __future__ import annotations
import sys
from fastcore.script import CliError, call_parse, parse_cli

__all__ = ['demo', 'main']

@call_parse
def demo(
    csv:str=None, # A CSV to run on instead of the bundled Adult data
    quick:bool=False, # A short setting (for tests and CI)
):
    "Run the article end to end on the Adult data: fit, report on held-out rows, downstream accuracy on codes vs raw."
    from .demo import run_demo
    run_demo(csv=csv, quick=quick)

COMMANDS = {'demo': demo}

def main(argv:list=None) -> int:
    "Dispatch `tabae COMMAND ...` to the command's own parser."
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: tabae {{{','.join(COMMANDS)}}} ...   (tabae COMMAND --help for each)")
        return 0 if argv and argv[0] in ('-h', '--help') else 2
    cmd = COMMANDS[argv[0]]
    sys.argv = [f'tabae {argv[0]}'] + argv[1:]
    pargs, kwargs, _ = parse_cli(cmd.__wrapped__)
    try: res = cmd(*pargs, **kwargs)
    except CliError as e: raise SystemExit(str(e))
    return res if isinstance(res, int) else 0
