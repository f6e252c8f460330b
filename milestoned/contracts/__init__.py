"""The on-chain scripts (OpShin, Plutus V3), their compiled blueprint and the parameter loader."""
