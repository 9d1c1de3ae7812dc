"""``/actions``: the catalogue of installed plugins and the actions they register."""
