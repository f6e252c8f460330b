"""milestoned: milestone-based token distribution on Cardano, run by an event-sourced daemon."""

from typing import Any


def __getattr__(name: str) -> Any:
    """`__version__`, read from the installed package's metadata on first use only.

    WHY lazily: importlib.metadata costs tens of milliseconds (more on a loaded machine), and every
    `milestonectl` call imports this package; only `--version` and the daemon's status need it.
    """
    if name != "__version__":
        raise AttributeError(f"module 'milestoned' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("milestoned")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found
