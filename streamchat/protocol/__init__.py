"""Sans-I/O protocol core: bytes and JSON in, events out. No sockets, no asyncio, no clocks."""
