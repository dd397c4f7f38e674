"""TensorFlow, imported once and quietly.

TensorFlow's C++ start-up lines (oneDNN, CUDA probing) bypass Python and its log-level
variables; in a lecture notebook they read as errors. They are silenced at the file
descriptor level during import and device set-up only. A GPU, when present, is used.
"""

from __future__ import annotations

import os
import sys


def tensorflow():
    """The tensorflow module, initialised with its start-up chatter silenced."""
    if "tensorflow" not in sys.modules:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 2)
                import keras  # noqa: F401
                import tensorflow as tf

                tf.config.list_physical_devices()
                tf.constant(0.0) + 1.0  # first op: device initialisation logs here
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return sys.modules["tensorflow"]
