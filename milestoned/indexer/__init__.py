"""The chain follower: intersection, pipelined nextBlock, block filter into chain events, rollbacks."""

from milestoned.indexer.config import FollowerConfig, parse_start_point
from milestoned.indexer.filter import WatchedContract, block_events
from milestoned.indexer.follower import ChainFollower, FollowerStalled, IntersectionLost, Progress

__all__ = [
    "ChainFollower",
    "FollowerConfig",
    "FollowerStalled",
    "IntersectionLost",
    "Progress",
    "WatchedContract",
    "block_events",
    "parse_start_point",
]
