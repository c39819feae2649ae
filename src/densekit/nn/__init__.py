"""The network: dense layers, dropout, and the hand-written fast path."""
