"""pytest configuration shared by the unit tests and nbval's notebook runs."""


def pytest_collectstart(collector):
    # nbval: warnings printed on stderr (deprecations, tqdm bars) differ between machines; never compare them.
    if getattr(collector, "path", None) is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("stderr",)
