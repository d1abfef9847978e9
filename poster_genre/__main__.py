"""`python -m poster_genre classify ...`: see poster_genre.cli."""

import sys

from poster_genre.cli import main

sys.exit(main())
