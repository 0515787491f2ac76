import sys

from radiofm.cli.main import main

sys.exit(main())
