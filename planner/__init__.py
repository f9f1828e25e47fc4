"""evplan's library: road networks, fleet records, charger siting and reports.

Everything that computes lives here; files, HTTP and databases stay at the edges.
"""

__version__ = "0.1.0"
