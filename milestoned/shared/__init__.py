"""What the daemon (`milestoned.daemon`) and `milestonectl` (`milestoned.commands`) both need: the
daemon's configuration (`doctor` reads the operator's file as the daemon would) and the Ogmios query
link (`doctor` asks the node its facts, `log report` a devnet its slot clock).

Why here and not in `daemon`: dependencies point inwards, and the client must not import the daemon's
process wiring to read a file or ask a node; nothing here imports `daemon` or `commands`
(tests/commands/test_commands_layering.py checks both).
"""
