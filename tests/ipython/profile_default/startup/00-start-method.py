# Loaded by every test kernel (the harness sets IPYTHONDIR to tests/ipython).
# It applies the start method under test, so the notebooks run unmodified
# under fork, spawn and forkserver. Learners' kernels never load this file.
def _apply_start_method() -> None:
    import multiprocessing
    import os

    method = os.environ.get("MP_START_METHOD")
    if method:
        multiprocessing.set_start_method(method, force=True)


_apply_start_method()
del _apply_start_method
