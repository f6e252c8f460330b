"""What is mutated, and which tests must notice: the committed module -> test files mapping.

Each mutant runs only the tests that cover its module (a full suite per mutant would take days on two
cores). The files are the ones that exercise the module directly, fastest first, so that `-x` stops at
the first failing test early; the PostgreSQL variants of the store tests are left out (the SQLite
variants run the same code paths of these modules) except for `projections/store.py`, which has
PostgreSQL-only lines; anything that needs the devnet is left out too, except the lifecycle tests of
the transaction builders.

The core list is issue 19's; the script target is issue 11's (the OpShin sources, compiled on the
`make contracts` path and run against the contract tests).
"""

from __future__ import annotations

from dataclasses import dataclass

DOMAIN_SCHEDULE = (
    "tests/domain/test_domain_schedule_file.py",
    "tests/domain/test_domain_schedule_properties.py",
    "tests/domain/test_domain_addresses_mutants.py",
    "tests/domain/test_domain_onchain_decode_mutants.py",
    "tests/domain/test_domain_schedule_errors_mutants.py",
    "tests/domain/test_domain_schedule_order_mutants.py",
    "tests/domain/test_domain_schedule_text_mutants.py",
)
ADDRESS_TESTS = (
    "tests/domain/test_domain_addresses_and_keys.py",
    "tests/domain/test_domain_addresses_mutants.py",
    "tests/domain/test_domain_encoding_mutants.py",
)
TXBUILDER_FAST = ("tests/txbuilder/test_txbuilder_units.py", "tests/txbuilder/test_txbuilder_lifecycle.py")
DAEMON_PROCESS = ("tests/daemon/test_daemon_process.py",)


@dataclass(frozen=True)
class Target:
    """One mutated source file and the tests that must kill its mutants."""

    path: str  # repository-relative
    tests: tuple[str, ...]
    # the OpShin sources: also mutate compared addresses to their payment credential only
    weak_fields: bool = False
    # also run the PostgreSQL variants of the store tests (for modules with PostgreSQL-only lines)
    postgres: bool = False

    @property
    def package(self) -> str:
        """`domain`, `indexer`... (the figure name's middle part); `contracts` for the scripts."""
        parts = self.path.split("/")
        return "contracts" if "onchain" in parts else parts[1]


def _domain(name: str, *tests: str) -> Target:
    return Target(f"milestoned/domain/{name}.py", tuple(tests))


CORE: tuple[Target, ...] = (
    _domain("addresses", *ADDRESS_TESTS, "tests/domain/test_domain_schedule_file.py"),
    _domain("bech32", "tests/domain/test_domain_bech32.py", *ADDRESS_TESTS),
    _domain(
        "allocation",
        "tests/domain/test_domain_eligibility.py",
        "tests/domain/test_domain_eligibility_mutants.py",
        *DOMAIN_SCHEDULE,
    ),
    _domain(
        "attestation",
        "tests/domain/test_domain_eligibility.py",
        "tests/domain/test_domain_addresses_mutants.py",
        "tests/txbuilder/test_txbuilder_units.py",
        "tests/contracts/test_contract_properties.py",
        "tests/contracts/test_contract_attacks.py",  # the bad-signature attacks live there now
        "tests/commands/test_commands_attest_cancel.py",
        "tests/domain/test_domain_attestation_file.py",
    ),
    _domain(
        "attestation_file",
        "tests/domain/test_domain_attestation_file.py",
        "tests/commands/test_commands_attest.py",
        "tests/commands/test_commands_attest_cancel.py",
        "tests/domain/test_domain_eligibility.py",
    ),
    _domain("cancellation", "tests/domain/test_domain_cancellation.py"),
    _domain(
        "eligibility",
        "tests/domain/test_domain_eligibility.py",
        "tests/domain/test_domain_eligibility_mutants.py",
        "tests/txbuilder/test_txbuilder_release_checks_mutants.py",
        "tests/domain/test_domain_cancellation.py",
    ),
    _domain("json_types", *DOMAIN_SCHEDULE),
    _domain("network", *ADDRESS_TESTS, *DOMAIN_SCHEDULE),
    _domain(
        "onchain_types",
        "tests/domain/test_domain_onchain_decode_mutants.py",
        "tests/domain/test_domain_encoding_mutants.py",
        "tests/contracts/test_onchain_types.py",
        "tests/indexer/test_indexer_filter.py",
        "tests/contracts/test_script_context.py",
        "tests/domain/test_domain_cancellation.py",
    ),
    _domain("oracle_keys", *ADDRESS_TESTS, *DOMAIN_SCHEDULE),
    _domain(
        "schedule",
        *DOMAIN_SCHEDULE,
        "tests/domain/test_domain_eligibility.py",
        "tests/domain/test_domain_schedule_guardians.py",  # has_guardians (issue 15)
    ),
    _domain("schedule_canonical", *DOMAIN_SCHEDULE),
    _domain("schedule_file", *DOMAIN_SCHEDULE),
    _domain("schedule_fields", *DOMAIN_SCHEDULE),
    _domain("schedule_json", *DOMAIN_SCHEDULE),
    _domain(
        "timestamps",
        "tests/domain/test_domain_timestamps.py",
        "tests/domain/test_domain_timestamps_mutants.py",
        *DOMAIN_SCHEDULE,
    ),
    _domain("validation_errors", *DOMAIN_SCHEDULE),
    Target(
        "milestoned/indexer/filter.py",
        (
            "tests/indexer/test_indexer_filter.py",
            "tests/indexer/test_indexer_filter_mutants.py",
            "tests/indexer/test_indexer_signatures_mutants.py",
            "tests/indexer/test_indexer_prefilter.py",
            "tests/indexer/test_indexer_move.py",  # a spend that burns nothing: a move (issue 15)
        ),
    ),
    Target(
        "milestoned/eventlog/hashchain.py",
        (
            "tests/eventlog/test_eventlog_codec.py",
            "tests/eventlog/test_eventlog_mutants.py",
            "tests/eventlog/test_eventlog_verify.py",
            "tests/eventlog/test_eventlog_store.py",
        ),
    ),
    Target(
        "milestoned/eventlog/verify.py",
        (
            "tests/eventlog/test_eventlog_verify.py",
            "tests/eventlog/test_eventlog_mutants.py",
            "tests/eventlog/test_eventlog_check_store_mutants.py",
        ),
    ),
    Target(
        "milestoned/projections/changes.py",
        (
            "tests/projections/test_projections_changes_mutants.py",
            "tests/projections/test_projections_readmodels.py",
            "tests/projections/test_projections_property.py",
            "tests/projections/test_projections_cancelled.py",
        ),
    ),
    Target(
        "milestoned/projections/store.py",
        (
            "tests/projections/test_projections_mutants.py",
            "tests/projections/test_projections_store.py",
            "tests/projections/test_projections_readmodels.py",
            "tests/projections/test_projections_replay_backends.py",
            "tests/projections/test_projections_property.py",
            "tests/projections/test_projections_cancelled.py",
        ),
        postgres=True,  # the search path and the placeholder translation run on PostgreSQL only
    ),
    Target(
        "milestoned/txbuilder/release_checks.py",
        (
            "tests/txbuilder/test_txbuilder_release_checks_mutants.py",
            "tests/txbuilder/test_txbuilder_release_cancelled.py",
            *TXBUILDER_FAST,
        ),
    ),
    Target(
        "milestoned/txbuilder/fees.py",
        (
            "tests/txbuilder/test_txbuilder_fees_mutants.py",
            "tests/txbuilder/test_txbuilder_min_lovelace.py",
            *TXBUILDER_FAST,
        ),
    ),
    Target(
        "milestoned/txbuilder/assembly.py",
        (
            "tests/txbuilder/test_txbuilder_selection_mutants.py",
            "tests/txbuilder/test_txbuilder_assembly_mutants.py",
            *TXBUILDER_FAST,
            "tests/txbuilder/test_txbuilder_errors.py",
            "tests/txbuilder/test_txbuilder_linear.py",  # one build per transaction at its first fee
        ),
    ),
    Target(
        "milestoned/txbuilder/evaluation.py",  # the evaluator's answers, moved out of assembly.py
        (
            "tests/txbuilder/test_txbuilder_assembly_mutants.py",
            "tests/txbuilder/test_txbuilder_local_evaluation_mutants.py",
            "tests/txbuilder/test_txbuilder_evaluation.py",
            *TXBUILDER_FAST,
        ),
    ),
    Target(
        "milestoned/txbuilder/signing.py",
        (
            "tests/txbuilder/test_txbuilder_signing_mutants.py",
            *TXBUILDER_FAST,
            "tests/txbuilder/test_txbuilder_errors.py",
        ),
    ),
    Target(
        "milestoned/daemon/peercred.py",
        (
            "tests/daemon/test_daemon_peercred_mutants.py",
            "tests/daemon/test_daemon_config.py",
            *DAEMON_PROCESS,
        ),
    ),
    Target(
        "milestoned/shared/config.py",
        (
            "tests/daemon/test_daemon_config.py",
            "tests/daemon/test_daemon_config_mutants.py",
            "tests/daemon/test_daemon_config_more_mutants.py",
        ),
    ),
    Target(
        "milestoned/commands/socket_client.py",
        ("tests/commands/test_commands_socket_client_mutants.py", *DAEMON_PROCESS),
    ),
)

CONTRACT_TESTS = ("tests/contracts",)
# The blueprint tests check the loader and the build's reproducibility (one recompiles the worker copy's
# sources: a slow compile that tells nothing about the mutant), not what the scripts accept.
CONTRACT_IGNORE: tuple[str, ...] = (
    "tests/contracts/test_contract_blueprint.py",
    # the comparison with the scripts built without our UPLC passes is off in the mutation run (conftest:
    # a reference of each mutant would cost 20 s of OpShin); its own tests check that it is on
    "tests/contracts/test_uplc_passes_contracts.py",
)

CONTRACTS: tuple[Target, ...] = (
    Target("milestoned/contracts/onchain/allocation_validator.py", CONTRACT_TESTS, weak_fields=True),
    Target("milestoned/contracts/onchain/schedule_policy.py", CONTRACT_TESTS, weak_fields=True),
    Target("milestoned/contracts/onchain/schedule_state.py", CONTRACT_TESTS, weak_fields=True),
)

TARGETS: dict[str, tuple[Target, ...]] = {"core": CORE, "contracts": CONTRACTS}


def find(path: str) -> Target:
    for group in TARGETS.values():
        for target in group:
            if target.path == path:
                return target
    raise KeyError(f"{path} is not a mutation target; see mutation/targets.py")
