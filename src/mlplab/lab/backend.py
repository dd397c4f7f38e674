"""TensorFlow, imported once and quietly.

TensorFlow's C++ runtime writes start-up and tf.data lines (oneDNN, CUDA probing, graph
attribute notices) straight to file descriptor 2, past Python and its log-level variables;
in a lecture notebook they read as errors. They are silenced at the descriptor level around
import and training only; Python exceptions and warnings still show. A GPU, when present,
is used.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_initialised = False


def tensorflow():
    """The tensorflow module, initialised once with its start-up chatter silenced (also when
    something imported it before, as a warm kernel's ``mlplab.lab.fresh.warm_up`` does)."""
    global _initialised
    if not _initialised:
        with native_stderr_silenced():
            import keras  # noqa: F401
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")  # e.g. tf.function retracing notices
            # Deterministic ops from the start, for the page's own fit too: TensorFlow has no
            # public switch back, so a warm kernel's runs must all begin with it on.
            tf.config.experimental.enable_op_determinism()
            tf.config.list_physical_devices()
            tf.constant(0.0) + 1.0  # first op: device initialisation logs here
        _initialised = True
    return sys.modules["tensorflow"]
