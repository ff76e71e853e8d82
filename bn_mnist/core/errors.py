"""Errors the user can act on: the CLI prints their message as one line, without a traceback."""


class BnMnistError(Exception):
    """Base class of every error caused by the user's input or environment, not by a bug."""

    exit_code = 1
    prefix = "error: "  # how the CLI introduces the message


class ConfigError(BnMnistError):
    """A config file or `--set` override is invalid (unknown key, wrong type, out of range)."""

    exit_code = 2


class DataError(BnMnistError):
    """MNIST could not be found, read or verified."""


class Interrupted(BnMnistError):
    """Ctrl-C during training: what was finished is on disk; the message says where."""

    exit_code = 130
    prefix = ""


class OutputError(BnMnistError):
    """The output directory cannot be used without overwriting earlier results."""


class ResultsError(BnMnistError):
    """A results or summary file does not hold the records it should (another version's, or damaged)."""

    exit_code = 2


class WriteError(BnMnistError):
    """A file could not be written (the disk is full, a directory read-only): the message names it, gives the OS's
    reason and says what is kept."""


class RunFailed(BnMnistError):
    """A run failed in its worker process for a reason outside the tool's checks (out of memory, a TensorFlow
    internal error, a worker killed): the message names the run and what stays finished."""


class DistributeError(BnMnistError):
    """A strategy cannot be made: no TF_CONFIG, too few devices, or peers that do not answer."""

    exit_code = 2


class ClusterError(BnMnistError):
    """A Ray cluster cannot be used: Ray is not installed, the address is unreachable, or runs were lost on it."""

    exit_code = 2


class DiagnoseError(BnMnistError):
    """`diagnose` cannot read its input: not a Keras model, data it cannot take, a model that fails on the data."""

    exit_code = 2
