"""``streamchat bench``: a load generator (runner.py) and pure statistics over its records (metrics.py)."""
