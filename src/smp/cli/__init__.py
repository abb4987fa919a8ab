"""Command line (Typer + Rich): the composition root."""
