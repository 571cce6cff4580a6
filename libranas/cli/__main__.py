"""``python -m libranas.cli``."""

import sys

from libranas.cli import main

sys.exit(main())
