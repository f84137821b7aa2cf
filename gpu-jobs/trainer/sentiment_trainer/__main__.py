"""Entry point: `python -m sentiment_trainer tune|train --flag value ...`."""

import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
