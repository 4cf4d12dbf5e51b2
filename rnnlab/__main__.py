"""`python -m rnnlab`: see rnnlab/cli.py."""

import sys

from rnnlab.cli import main

sys.exit(main())
