"""Labs: one module per notebook, each a plain function plus a thin widget panel.

The function (for example ``motivation.run_scaling``) takes plain arguments,
checks them, runs the experiment with bounded waits and returns data; pytest
tests it without a browser. The panel (``motivation.scaling_panel()``) only
reads its controls, calls the function and draws the result, using
``panel.make_panel``.
"""
