"""Which device training would use, found without importing TensorFlow.

Importing TensorFlow takes seconds, so the window does not wait for it. A GPU that TensorFlow
can use on Linux and Windows is an NVIDIA one with its driver, and the driver's ``nvidia-smi``
names it quickly. The training step reports the device it really used; this is the first guess
the status bar shows until then.
"""

from __future__ import annotations

import logging
import shutil
import subprocess

from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)


def detect_device(state: TaskState | None = None) -> str:
    """``"GPU: <name>"`` when an NVIDIA driver lists a GPU, else ``"CPU"``."""
    state = ensure_state(state)
    state.set_status("Looking for a GPU")
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "CPU"
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("nvidia-smi did not answer: %s", exc)
        return "CPU"
    names = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    if out.returncode != 0 or not names:
        return "CPU"
    log.info("GPU found by nvidia-smi: %s", names)
    return f"GPU: {names[0]}" + (f" (+{len(names) - 1})" if len(names) > 1 else "")
