"""``python -m planner`` runs the evplan command line."""

from planner.cli import main

raise SystemExit(main())
