"""The summary room: reads results records and writes the index's tables and sentences.

Runs in the summary notebook's kernel and in the driver (manifest, results.csv); it never
imports TensorFlow. ``registry`` lists every comparison the index states, ``records`` loads
and tabulates, ``stats`` compares runs, ``claims`` re-tests the original assignment,
``sections`` words the index, ``tables`` renders HTML.
"""
