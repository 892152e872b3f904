"""``python -m pizza_infra.chaos``: the same as ``pizza-chaos``."""

import sys

from pizza_infra.chaos.cli import main

sys.exit(main())
