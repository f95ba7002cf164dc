"""`python -m propfee.cli`, as the `propfee` script."""

import sys

from propfee.cli import main

sys.exit(main())
