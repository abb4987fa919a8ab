"""Server-rendered web UI."""
