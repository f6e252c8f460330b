"""Milestone state and claimable amounts, rebuilt from the event log."""
