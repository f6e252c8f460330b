"""Command handlers behind the socket, and the milestonectl client."""
