"""Registration, release and reclaim transactions."""
