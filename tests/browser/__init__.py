"""End-to-end tests: the real JupyterLab in headless Chromium (see test_jupyterlab.py)."""
