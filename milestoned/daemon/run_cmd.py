"""`milestoned run --config FILE`: read and check the configuration, configure logging, run the daemon.

Configuration problems are printed all at once, one per line with the key and the fix, and the exit
code is 2 (systemd then shows them in `systemctl status` instead of restarting in a loop forever).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path

EXIT_CONFIG = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the TOML configuration (infra/milestoned.example.toml documents every key); without it the "
        "defaults and MILESTONED_<SECTION>_<KEY> variables are used",
    )
    parser.add_argument(
        "--check-config",
        action="store_true",
        help="print the effective configuration as JSON and exit (0 valid, 2 invalid)",
    )


def main(args: argparse.Namespace) -> int:
    from milestoned.daemon.config_checks import machine_problems
    from milestoned.shared.config import ConfigError, config_document, load_config

    try:
        config = load_config(args.config)
        problems = machine_problems(config)
        if problems:
            raise ConfigError(problems, str(args.config) if args.config else "the defaults")
    except ConfigError as exc:
        sys.stderr.write(f"milestoned: {exc}\n")
        return EXIT_CONFIG
    if args.check_config:
        sys.stdout.write(json.dumps(config_document(config), indent=2) + "\n")
        return 0
    from milestoned.daemon.app import run_daemon
    from milestoned.daemon.logs import configure_logging

    configure_logging(config.log.format, config.log.level)
    # imported on the loop just after the socket opens otherwise (its scan of installed packages' entry
    # points held up the first answers for tens of milliseconds); now before, and frozen with the rest
    import apscheduler.schedulers.asyncio  # noqa: F401

    freeze_long_lived_objects()
    return run_daemon(config)


def freeze_long_lived_objects() -> None:
    """Keep what the daemon process holds once started (its imported modules and configuration, well over
    100,000 objects) out of every later garbage collection.

    A full collection walks every tracked object; over the imports alone that takes about 90 ms during
    which no thread runs Python, and the socket's p99 on an idle daemon was over 100 ms with them (5 ms
    with collections off; bench/scale_queries.py). `gc.freeze` moves them to a permanent generation, so
    later collections walk only what was made since; reference counting still frees anything that
    dies. The garbage present now is collected first, so none of it is kept. Only here, in the
    `milestoned run` process: a test that runs the daemon in its own process keeps its collections.
    """
    gc.collect()
    gc.freeze()
