"""Where the CLI takes a key from: an environment variable's name or a file's path.

A key typed as an argument lands in shell history and process lists, so the
key options take a name, never the key. Given the key itself, a message that
repeated the argument ("environment variable SG.… is not set") would print the
secret too. So a key where a name belongs is refused without repeating any of
it: a key anywhere on the command line (checked before any command runs), and
in the key options anything that cannot be a variable's name or that looks
like a key. Every message here names the option, never what was given in it.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Sequence
from pathlib import Path

NOT_THE_KEY = "give the name of an environment variable (or a file), not the key itself"
# `SG.`, most of a key id (22 characters), a dot and any of the secret: a key,
# whole or cut short, that no integration, label or file would be named like.
_KEY_LIKE = re.compile(r"SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# Why a key file cannot be read, in words: not a class name or an errno.
_PLAIN = {
    errno.ENOENT: "no such file",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "that is a folder, not a file",
    errno.ENOTDIR: "a part of the path is not a folder",
}


class KeySourceError(Exception):
    """A key could not be read; the message never repeats the option's value."""


def looks_like_key(text: str) -> bool:
    return _KEY_LIKE.search(text) is not None


def key_in_arguments(args: Sequence[str]) -> str | None:
    """The refusal for the first argument that holds a key, else None."""
    for index, arg in enumerate(args):
        if not looks_like_key(arg):
            continue
        option, equals, _ = arg.partition("=")
        if not (equals and option.startswith("--") and not looks_like_key(option)):
            option = args[index - 1] if index else ""
        if option.endswith(("-env", "-file")):
            return f"{option}: {NOT_THE_KEY}"
        where = option if option.startswith("--") else "an argument"
        return (
            f"{where} holds an API key; SMP reads keys only from --key-env or "
            "--key-file, so that they stay out of shell history"
        )
    return None


def env_value(name: str, what: str) -> str:
    """The value of environment variable `name`, which must be a variable's name."""
    if not _ENV_NAME.fullmatch(name):
        raise KeySourceError(f"{what}: {NOT_THE_KEY}")
    value = os.environ.get(name)
    if value is None and _random_looking(name):  # a key's secret without "SG."
        raise KeySourceError(f"{what}: {NOT_THE_KEY}")
    if value is None:
        raise KeySourceError(f"{what}: environment variable {name} is not set")
    return value


def _random_looking(name: str) -> bool:
    """Long, with lower case, upper case and digits: no one names a variable so."""
    kinds = (str.islower, str.isupper, str.isdigit)
    return len(name) >= 30 and all(any(map(kind, name)) for kind in kinds)


def file_text(path: str | Path, what: str) -> str:
    if looks_like_key(str(path)):
        raise KeySourceError(f"{what}: {NOT_THE_KEY}")
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        reason = _PLAIN.get(error.errno or 0) or (error.strerror or "").lower()
        raise KeySourceError(
            f"{what}: cannot read key file {path}: {reason or 'the system refused'}"
        ) from None
    except UnicodeDecodeError:
        raise KeySourceError(f"{what}: {path} is not UTF-8 text") from None


def raw_key(env: str | None, file: str | Path | None, what: str) -> str:
    """A raw key from an environment variable or a file, never from argv."""
    if env:
        return env_value(env, what)
    if file:
        return file_text(file, what)
    raise KeySourceError(f"{what}: give --key-env VAR or --key-file PATH")
