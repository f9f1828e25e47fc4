"""The ``evplan`` command line: the terminal edge over the ``planner`` library (and ``app`` for ``serve``)."""
