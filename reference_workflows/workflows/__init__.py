"""One module per workflow pattern."""
