"""`smp people ...`: the company's directory and how SendGrid accounts match it.

Each part registers its own commands: the file import, the SCIM token, and the
reading and linking commands.
"""

from __future__ import annotations

import typer

from smp.cli import people_directory_cmd, people_import_cmd, people_scim_cmd

people_app = typer.Typer(
    help="The company's people: import a directory, match SendGrid accounts to it.",
    no_args_is_help=True,
)
people_import_cmd.register(people_app)
people_scim_cmd.register(people_app)
people_directory_cmd.register(people_app)
