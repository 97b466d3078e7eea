"""Where TensorFlow runs: the first GPU it sees, otherwise the CPU.

GPU memory growth is switched on so that TensorFlow takes memory as it needs it rather than
the whole card at start. The choice is made once per process; the name returned is what a
trained model records in ``TrainedModel.device``.
"""

from __future__ import annotations

import logging
import os
import platform
import sys

log = logging.getLogger(__name__)

_chosen: tuple[str, str] | None = None


def choose_device() -> tuple[str, str]:
    """``(tf_device_spec, readable_name)``, e.g. ``("/GPU:0", "NVIDIA H200")``."""
    global _chosen
    if _chosen is not None:
        return _chosen

    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised by an earlier TensorFlow call
            log.debug("memory growth could not be set on %s", gpu.name)
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        name = details.get("device_name") or gpus[0].name
        _chosen = ("/GPU:0", f"GPU ({name})")
    else:
        threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
        _chosen = ("/CPU:0", f"CPU ({platform.machine()}, {threads} threads)")
    log.info("TensorFlow runs on %s", _chosen[1])
    return _chosen


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up lines sent to the log instead of stderr.

    TensorFlow 2.2x prints oneDNN and CUDA-probing notices straight to file descriptor 2
    before its logging is set up, so no environment variable silences them. For the command
    line they bury the progress bar and the report; this captures them at descriptor level
    while TensorFlow loads and probes devices, and logs them. Only the CLI calls this: it
    redirects the whole process's stderr for a moment, which a GUI with other threads must not.
    """
    if "tensorflow" in sys.modules:
        return
    import tempfile

    with tempfile.TemporaryFile(mode="w+b") as capture:
        saved = os.dup(2)
        try:
            os.dup2(capture.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode("utf-8", "replace").strip()
    if text:
        log.debug("TensorFlow start-up output:\n%s", text)
