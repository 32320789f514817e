"""Signal types: one module each (``url`` now; media hashes and text signatures join them)."""
