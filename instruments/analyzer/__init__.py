"""Power analyzers (role "analyzer"): the interface in base.py, one module per family."""
