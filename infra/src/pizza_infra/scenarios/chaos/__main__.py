"""``python -m pizza_infra.scenarios.chaos``: the same as ``pizza-chaos``."""

import sys

from pizza_infra.scenarios.chaos.cli import main

sys.exit(main())
