"""A local chain that speaks the Ogmios protocol, for tests, demos and rehearsals."""
