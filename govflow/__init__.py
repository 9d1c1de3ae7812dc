"""GovFlow: a plugin-based automation framework for administrative workflows."""

__version__ = "0.1.0"
