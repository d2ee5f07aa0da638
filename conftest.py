"""Root conftest: load the course's test plugins for every test run."""

pytest_plugins = ["tests.notebook_harness"]
