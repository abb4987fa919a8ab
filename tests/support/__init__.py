"""Helpers the test folders share: ports, keys, servers and the simulator's wiring."""
