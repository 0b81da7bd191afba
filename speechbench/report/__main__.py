"""``python -m speechbench.report``: same as ``speechbench report``."""
import sys

from speechbench.report.build import main

sys.exit(main())
