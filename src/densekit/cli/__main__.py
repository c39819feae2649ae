"""python -m densekit.cli: what the `densekit` command runs."""

import sys

from densekit.cli import main

sys.exit(main())
