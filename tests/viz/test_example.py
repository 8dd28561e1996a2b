"""examples/visualize.py writes its pictures (as the docs show them)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from viz_helpers import needs_dot, parse, svg_groups, texts

ROOT = Path(__file__).resolve().parents[2]
PICTURES = ("small.svg", "small_train.svg", "small_train_O2.svg", "cnn_layers.svg", "cnn_forward.svg",
            "cnn_train_O2.svg")


@needs_dot
def test_visualize_example_writes_svgs(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "visualize.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    for name in PICTURES:
        parse((tmp_path / name).read_text(encoding="utf-8"))
    layers = svg_groups(parse((tmp_path / "cnn_layers.svg").read_text(encoding="utf-8")), "node")
    assert {"scope_conv1_1", "scope_conv2_2", "scope_fc1", "scope_grad", "scope_sgd"} <= set(layers)
    forward = [t for g in svg_groups(parse((tmp_path / "cnn_forward.svg").read_text(encoding="utf-8")),
                                     "node").values() for t in texts(g)]
    assert "conv2d 3×3 same" in forward and "max_pool2d 2x2 valid" in forward
    assert (tmp_path / "cnn_train.txt").read_text(encoding="utf-8").startswith("output 0: ")
