"""The exceptions Pinger raises on purpose, each carrying a message meant for the user."""

from __future__ import annotations


class PingerError(Exception):
    """A failure explained in one sentence; the command line prints it and exits 1."""

    exit_code = 1


class UsageError(PingerError):
    """Bad command-line usage or a bad argument value (exit 2)."""

    exit_code = 2


class ConfigError(PingerError):
    """One or more problems in a configuration file (exit 2).

    ``problems`` holds every problem found, each already formatted as
    ``FILE:LINE: path.to.field: message``.
    """

    exit_code = 2

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class MalformedImportError(UsageError):
    """A file to import has malformed lines; nothing was imported (exit 2)."""


class LegacyDumpError(UsageError):
    """The first system's dump cannot be imported as it is: one sentence naming the record;
    nothing was written (exit 2)."""


class PingPermissionError(PingerError):
    """ICMP sockets cannot be opened with the privileges this process has."""


class StoreError(PingerError):
    """The configured store cannot be opened, read or written."""


class StoreMissing(StoreError):
    """A command that reads the store found none where the config says: only the collector and
    the import create one."""


class CollectorConflict(PingerError):
    """Another running collector already writes the same store with the same name or a pool in common."""


class InfluxConfigError(StoreError):
    """InfluxDB says the settings are wrong (token, org or bucket): retrying will not help (exit 2)."""

    exit_code = 2


class OutputError(PingerError):
    """The output file the user named (or standard output) cannot be written."""


class ReportInputError(UsageError):
    """The days and phases asked for cannot answer the report's question (no phases, no days, no baseline)."""


class ConflictingSamplesError(UsageError):
    """Samples to import disagree with each other, or with a measured sample stored, for one host and
    second: nothing was imported (exit 2)."""
