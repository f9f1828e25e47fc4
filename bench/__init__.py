"""Benchmarks of evplan: speed, memory and scale, side by side with the alternatives (issue 7).

``python -m bench`` (or ``make bench``) runs every case, prints a table and writes
``bench/results.json``. Each case lives in its own module and runs in a fresh interpreter:

* ``shanwei`` — the main job on the shipped Shanwei data, stage by stage, cold and cached network;
* ``models`` — generic location models against PySAL spopt on identical instances and solver;
* ``scale`` — synthetic city-to-province road graphs, doubling in size;
* ``service`` — the HTTP API under concurrent clients on loopback;
* ``sweep`` — a scenario sweep on Dask's distributed scheduler, 1 vs 2 workers;
* ``network`` — load and drive times of the product on generated OSM regions, and a province streamed;
* ``siting`` — the siting MILP on a synthetic region (~100k nodes, ~2,000 candidates, ~1,000 demands).
"""

#: Case name -> module, in the order they run.
CASES = {
    "shanwei": "bench.shanwei",
    "models": "bench.models",
    "scale": "bench.scale",
    "service": "bench.service",
    "sweep": "bench.sweep",
    "network": "bench.network",
    "siting": "bench.siting_scale",
}
