import sys

from hooklake.cli import main

sys.exit(main())
