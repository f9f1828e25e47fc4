"""``python -m cli`` runs the evplan command line."""

from cli.main import main

raise SystemExit(main())
