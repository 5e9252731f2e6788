"""tinygen test suite."""
