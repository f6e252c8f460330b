"""The pure core: the rules of the contract as plain functions and frozen values.

Nothing in here does I/O, reads a clock or touches the network, and nothing here imports the rest of
`milestoned`: every other unit depends on this one, never the other way round.
"""
