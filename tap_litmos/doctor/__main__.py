"""`python -m tap_litmos.doctor`: the same as `tap-litmos-doctor`."""

import sys

from tap_litmos.doctor.cli import main

sys.exit(main())
