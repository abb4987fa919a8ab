"""Storage exceptions. Each carries a message a person can act on; none holds a secret.

StorageError                 database unusable: corrupt, foreign, newer, unreachable
├── ConfigError              bad SMP_DATABASE_URL / unwritable SMP_HOME
├── DuplicateNameError       an integration name (or key) that already exists
├── RecordNotFoundError      no such integration / service account / run
├── LockBusyError            another sync holds the integration's lock
└── MasterKeyError           master key missing, malformed, or not the one used

ValueTooLong (a ValueError)  a text longer than its column; nothing was sent
"""

from __future__ import annotations


class StorageError(Exception):
    """The database (or its secrets) cannot be used; the message says why."""


class ConfigError(StorageError):
    pass


class DuplicateNameError(StorageError):
    pass


class RecordNotFoundError(StorageError):
    pass


class LockBusyError(StorageError):
    pass


class MasterKeyError(StorageError):
    pass


class ValueTooLong(ValueError):
    """A text longer than its column allows, found before it was sent.

    Not a StorageError: the database is fine, the value is not. SQLite would
    keep it whole and PostgreSQL refuse it; checked first, both refuse alike.
    """

    def __init__(self, table: str, column: str, length: int, limit: int) -> None:
        super().__init__(f"{column} is {length:,} characters long (at most {limit})")
        self.table = table
        self.column = column
        self.length = length
        self.limit = limit

    def __reduce__(self) -> tuple[type[ValueTooLong], tuple[str, str, int, int]]:
        # Picklable (a writer process sends errors back pickled).
        return (ValueTooLong, (self.table, self.column, self.length, self.limit))
