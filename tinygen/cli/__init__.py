"""Command-line interface: thin click commands over `tinygen.api`-level functions."""
