"""The built-in reference server: every protocol streamchat speaks, deterministic replies, fault knobs."""
