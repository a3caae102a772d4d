"""Entry point for `python -m smartmixed`."""

from .cli import main

raise SystemExit(main())
