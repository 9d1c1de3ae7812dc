"""Tools for developing with GovFlow and testing against it; the services never import them."""
