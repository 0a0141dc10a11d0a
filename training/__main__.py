"""``python -m training COMMAND``: fit, evaluate, compare, export."""

import sys

from training.cli import main

sys.exit(main())
