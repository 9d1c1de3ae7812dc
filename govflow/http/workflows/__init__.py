"""``/workflows``: workflow definitions — list, read, upload YAML, validate, (de)activate."""
