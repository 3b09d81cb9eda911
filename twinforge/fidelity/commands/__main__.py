"""``python -m twinforge.fidelity.commands fidelity|calibrate ...``: the commands on their own.

The same handlers ``twinforge`` dispatches to, behind an argument parser of their own (this
package imports nothing from ``twinforge.cli``).
"""

from __future__ import annotations

import sys

from twinforge.fidelity.commands import main

if __name__ == "__main__":
    sys.exit(main())
