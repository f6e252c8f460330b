"""`milestoned run --config FILE`: read and check the configuration, configure logging, run the daemon.

Configuration problems are printed all at once, one per line with the key and the fix, and the exit
code is 2 (systemd then shows them in `systemctl status` instead of restarting in a loop forever).
"""

from __future__ import annotations

import argparse
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
    from milestoned.daemon.config import ConfigError, config_document, load_config
    from milestoned.daemon.config_checks import machine_problems

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
    return run_daemon(config)
