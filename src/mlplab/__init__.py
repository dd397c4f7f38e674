"""mlplab: how a small neural network learns handwritten digits, as a reproducible report."""

import os
import sys

# TensorFlow's C++ log lines (CPU features, oneDNN, harmless "E0000 ... node_def_util"
# notices from tf.data) go straight to stderr, which a notebook shows as red text: level 3
# keeps them all off pages. Real failures still raise Python exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# oneDNN's CPU kernels: TensorFlow turns them on by itself only on CPUs with AVX-512's neural
# network instructions. On the rest (AVX2, as on this project's machines) they train the
# batched networks in ~30% less time (a 50x50 run's ten seeds: 7.4 against 10.7 CPU-s), the
# same numbers on one thread or two. TensorFlow reads the setting when it is imported, so
# mlplab comes first in the notebooks and commands; a value already set is kept.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

# jsonschema, which nbformat imports, builds rfc3987-syntax's IRI grammar when it is imported
# (2.5-3.7 CPU-seconds in every process that reads or writes a notebook: drivers, workers,
# graders) for an "iri" format check that nbformat's validation never makes. Without the
# module jsonschema simply has no "iri" checker; the package stays installed, as pip needs.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

__version__ = "0.1.0"
