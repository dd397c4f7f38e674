"""mlplab: how a small neural network learns handwritten digits, as a reproducible report."""

import os

# TensorFlow's C++ log lines (CPU features, oneDNN, harmless "E0000 ... node_def_util"
# notices from tf.data) go straight to stderr, which a notebook shows as red text: level 3
# keeps them all off pages. Real failures still raise Python exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
