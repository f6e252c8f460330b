"""Mutation testing of the Python core and of the OpShin scripts: one harness for both (`make mutants`).

Why a small AST harness of our own rather than mutmut or cosmic-ray: the scripts are the target that
matters most, and a mutant script is only a mutant once it has gone through `make contracts`' build
(OpShin's compiler with the pinned configuration) into the blueprint the tests load. mutmut rewrites
functions into trampolines that call through its own runtime, which OpShin cannot compile; cosmic-ray
could mutate the file, but it runs a test command per mutant in a fresh process, with no hook to compile
and install the blueprint first and no way to reuse the heavy imports (pycardano, opshin, hypothesis:
seconds per start). The operators we need are the same for both targets and fit in a few hundred lines
(`operators.py`), and one runner (`runner.py`: forked children over a private copy of the package)
serves both, so the scripts and the core are measured the same way.

Why not under `milestoned/`: it is development tooling, like `bench/`, and imports pytest, which the
installed package must not depend on. Run it as `python -m mutation` from the checkout.

- `operators.py`: the mutation operators, as edits of the parsed module;
- `targets.py`: what is mutated and which tests must kill its mutants (the committed mapping);
- `runner.py`: runs mutants in parallel, each in a forked child with a per-mutant timeout;
- `sample.py`: the fixed sample `make test` runs (tests/mutation);
- `__main__.py`: the command line and the figures in `bench/results.json`.
"""
