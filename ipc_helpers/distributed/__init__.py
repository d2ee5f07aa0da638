"""Notebook 06, beyond one machine: workers and helpers.

- ``remote``: the producer/consumer of notebook 01 across separate programs,
  through a queue that a ``BaseManager`` serves over TCP on ``127.0.0.1``
  (standard library only, so the programs start fast);
- ``tasks``: the functions that ``dask.distributed`` workers run;
- ``cluster``: starting a small, quiet, loopback-only ``LocalCluster``, and
  the notebook's measurements (memory, round trips, backpressure, scatter,
  a worker's loss, shared state, the task stream).

Importing this package imports neither ``dask`` nor ``distributed``.
"""
