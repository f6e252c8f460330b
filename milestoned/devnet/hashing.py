"""Blake2b digests, the only hash functions the Cardano ledger uses for ids."""

from __future__ import annotations

import hashlib


def blake2b_256(data: bytes) -> bytes:
    """32-byte digest: transaction ids, block ids, datum hashes, auxiliary-data hashes."""
    return hashlib.blake2b(data, digest_size=32).digest()


def blake2b_224(data: bytes) -> bytes:
    """28-byte digest: key hashes and script hashes."""
    return hashlib.blake2b(data, digest_size=28).digest()
