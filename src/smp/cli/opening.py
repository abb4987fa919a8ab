"""What every data command needs: the database, the secret box, and clean failures.

Errors a user can fix are printed as one line on stderr with exit code 1 (2 for
bad input), never as a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from rich.text import Text
from sqlalchemy import Engine

from smp.cli.key_source import KeySourceError, env_value, raw_key
from smp.sendgrid import SendGridError
from smp.services.refusals import Refused
from smp.storage import (
    ConfigError,
    DuplicateNameError,
    RecordNotFoundError,
    SecretBox,
    StorageError,
    database_url,
    make_engine,
    migrate,
)
from smp.storage.engine import home_exposure
from smp.sync import SyncContext

# Wider than any line SMP prints: piped or redirected output is read by
# scripts and searched with grep, so no value may be cut or wrapped there.
UNWRAPPED_WIDTH = 10_000


class _Console(Console):
    """Terminal width on a terminal; elsewhere no wrapping and no cut values."""

    @property
    def size(self) -> ConsoleDimensions:
        measured = super().size
        if self.is_terminal:
            return measured
        return ConsoleDimensions(UNWRAPPED_WIDTH, measured.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


def whole_line(text: str) -> Text:
    """A table's title, as written (no markup) and never wrapped at the
    table's width, which may be narrower than the title."""
    return Text(text, no_wrap=True, overflow="ignore")


console = _Console()
errors = _Console(stderr=True)

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


@dataclass
class Runtime:
    engine: Engine
    box: SecretBox
    context: SyncContext


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    """One line on stderr that does not stop the command."""
    errors.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can act on into one line and an exit code."""
    try:
        yield
    except (Refused, DuplicateNameError, RecordNotFoundError, ConfigError) as error:
        fail(escape(str(error)), EXIT_BAD_INPUT)
    except (StorageError, SendGridError) as error:
        fail(escape(str(error)))


def open_runtime(context: SyncContext | None = None) -> Runtime:
    """Open (and migrate) the database and load the master key."""
    with user_errors():
        engine = make_engine(database_url())
        migrate(engine)
        box = SecretBox.load()
        exposure = home_exposure()
        if exposure:
            warn(exposure)
        # A bad SMP_GLOBAL_IN_FLIGHT is a ConfigError, said in one line.
        return Runtime(engine, box, context or SyncContext())


def read_key(env: str | None, file: str | None, what: str) -> str:
    """A raw key from an environment variable or a file, never from argv."""
    try:
        return raw_key(env, file, what)
    except KeySourceError as error:
        fail(escape(str(error)), EXIT_BAD_INPUT)


def read_env(name: str, what: str) -> str:
    """A secret from environment variable `name`; it must be set."""
    try:
        return env_value(name, what)
    except KeySourceError as error:
        fail(escape(str(error)), EXIT_BAD_INPUT)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
