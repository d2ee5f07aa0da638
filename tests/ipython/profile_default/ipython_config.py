# Test kernels keep no history: many kernels run at once and nothing is reused.
c = get_config()  # noqa: F821
c.HistoryManager.enabled = False
