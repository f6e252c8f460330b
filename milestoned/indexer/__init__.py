"""The chain follower: intersection, pipelined nextBlock, block filter into chain events, rollbacks."""
