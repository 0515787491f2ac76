"""``python -m radiofm``: the command line (radiofm.cli.main)."""

import sys

from radiofm.cli.main import main

if __name__ == "__main__":  # importing the module (documentation tools, pkgutil.walk_packages) runs nothing
    sys.exit(main())
