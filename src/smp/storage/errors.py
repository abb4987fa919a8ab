"""Storage exceptions. Each carries a message a person can act on; none holds a secret.

StorageError                 database unusable: corrupt, foreign, newer, unreachable
├── ConfigError              bad SMP_DATABASE_URL / unwritable SMP_HOME
├── DuplicateNameError       an integration name (or key) that already exists
├── NotFoundError            no such integration / service account / run
├── LockBusyError            another sync holds the integration's lock
└── MasterKeyError           master key missing, malformed, or not the one used
"""

from __future__ import annotations


class StorageError(Exception):
    """The database (or its secrets) cannot be used; the message says why."""


class ConfigError(StorageError):
    pass


class DuplicateNameError(StorageError):
    pass


class NotFoundError(StorageError):
    pass


class LockBusyError(StorageError):
    pass


class MasterKeyError(StorageError):
    pass
