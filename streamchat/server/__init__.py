"""The built-in reference server (SPEC §10): every protocol, deterministic replies, fault knobs."""
