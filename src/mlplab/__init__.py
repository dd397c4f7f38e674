"""mlplab: how a small neural network learns handwritten digits, as a reproducible report."""

import os

# TensorFlow's C++ start-up chatter (CPU features, oneDNN) is noise in a lecture notebook.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
