"""Our asyncio JSON-RPC client for Ogmios v6 and v7 (see DESIGN.md §5 for why it is ours)."""
