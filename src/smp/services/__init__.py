"""Use cases that the CLI, the API and the web share: each calls these."""
