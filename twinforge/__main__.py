import sys

from twinforge.cli import main

sys.exit(main())
