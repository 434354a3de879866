"""The exceptions Pinger raises on purpose, each carrying a message meant for the user.

One class per failure, here, with the exit code on the class. Four classes live beside the code that raises
them, on purpose: each is a step's report to its caller, never a command's failure, and the caller adds
what the user needs (file, line, field, what happens next) and raises a class from here:

* ``pinger.config_values.InvalidValue``: a value's text is wrong. The config loader adds file, line and
  field (ConfigError); the command line names the option (UsageError).
* ``pinger.config_reader._UnsetVariable``: an InvalidValue that ``check-config --allow-unset-env`` lets pass.
* ``pinger.line_format.LineProtocolError``: one line is malformed (a ValueError, as ``int()``'s is). The
  importer collects every one and raises MalformedImportError.
* ``pinger.store.influx_delivery.Unreachable``: the server did not answer. The InfluxDB store keeps the batch
  spooled, and the import turns it into a StoreError saying where the samples wait.
"""

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


class FamilyUnavailable(PingerError):
    """This machine has no IPv6 (or no IPv4) ICMP at all. The sweep engine catches it: that version's hosts are
    not observed, with this sentence as their error, and the sweep goes on."""


class StoreError(PingerError):
    """The configured store cannot be opened, read or written."""


class SpoolFull(StoreError):
    """The InfluxDB spool reached its size bound (storage.influxdb.spool_max): the batch was not accepted."""


class StoreMissing(StoreError):
    """A command that reads the store found none where the config says: only the collector and
    the import create one."""


class StoreFileLost(PingerError):
    """The store's file was deleted or replaced while the collector wrote it: the collector stops (exit 1)."""


class CollectorConflict(PingerError):
    """Another running collector already writes the same store with the same name or a pool in common."""


class InfluxConfigError(StoreError):
    """InfluxDB says the settings are wrong (token, org or bucket): retrying will not help (exit 2)."""

    exit_code = 2


class OutputError(PingerError):
    """The output file the user named (or standard output) cannot be written."""


class OutputIsInput(UsageError):
    """The output the user named is the same file as one of the command's inputs (the config, the store,
    the dump): refused before anything is read or written, whatever ``--force`` says (exit 2)."""


class FigureUnavailable(PingerError):
    """matplotlib is not installed: an HTML report or plan shows this sentence where its figure would be."""


class ReportInputError(UsageError):
    """The days and phases asked for cannot answer the report's question (no phases, no days, no baseline)."""


class ConflictingSamplesError(UsageError):
    """Samples to import disagree with each other, or with a measured sample stored, for one host and
    second: nothing was imported (exit 2)."""
