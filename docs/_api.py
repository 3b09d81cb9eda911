"""`make docs`: pdoc's API reference, with the names packages import lazily.

`twinforge` and `twinforge.export` list in `__all__` names that their module `__getattr__`
imports on first use (PEP 562), so that `import twinforge` stays light. pdoc looks a
public name up in the module's `__dict__` (or imports it as a submodule), never through
`__getattr__`: it warned that they "do not resolve" and left them out of the pages, even
where a `TYPE_CHECKING` import names them. This resolves every such name of the modules
given, then runs pdoc with the same arguments:

    python docs/_api.py [pdoc options] MODULE ...
"""

from __future__ import annotations

import importlib

from pdoc.__main__ import cli, parser


def resolve_lazy_names(module_name: str) -> list[str]:
    """Put the names of ``module.__all__`` that only its ``__getattr__`` gives into its
    ``__dict__`` (what ``from module import name`` does for the caller); the names resolved."""
    module = importlib.import_module(module_name)
    if "__getattr__" not in vars(module):
        return []
    done = []
    for name in getattr(module, "__all__", ()):
        if name in vars(module):
            continue
        try:
            setattr(module, name, getattr(module, name))
        except AttributeError:  # a submodule not imported yet: pdoc imports it itself
            continue
        done.append(name)
    return done


if __name__ == "__main__":
    for name in parser.parse_args().modules:
        if name.isidentifier() or all(part.isidentifier() for part in name.split(".")):
            resolve_lazy_names(name)
    cli()
