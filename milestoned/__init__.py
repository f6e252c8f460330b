"""milestoned: milestone-based token distribution on Cardano, run by an event-sourced daemon."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("milestoned")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
