"""Pure analyses from parsed modules to facts (astrepo.analyzers)."""
