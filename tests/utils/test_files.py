"""Atomic file replacement: old or new, never half; modes as open() makes them; the
process umask is never touched (it is process-global and would race with threads)."""
from __future__ import annotations

import os
import stat
import threading

import pytest

from graphflow.utils import atomic_path, write_text


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_file_gets_the_mode_open_would_give(tmp_path):
    write_text(tmp_path / "a.txt", "hello")
    with open(tmp_path / "b.txt", "w") as f:
        f.write("hello")
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert _mode(tmp_path / "a.txt") == _mode(tmp_path / "b.txt")


def test_umask_is_never_changed(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "umask", lambda *a: calls.append(a) or 0o022)
    write_text(tmp_path / "a.txt", "x")
    with atomic_path(tmp_path / "b.bin") as tmp:
        open(tmp, "wb").close()
    assert calls == []


def test_a_failed_write_leaves_the_old_file_and_no_debris(tmp_path):
    target = tmp_path / "model.h5"
    write_text(target, "old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.h5"]


def test_overwrite_false_refuses_and_changes_nothing(tmp_path):
    target = tmp_path / "a.txt"
    write_text(target, "old")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        write_text(target, "new", overwrite=False)
    assert target.read_text() == "old"
    assert len(list(tmp_path.iterdir())) == 1


def test_concurrent_writers_each_leave_a_whole_file(tmp_path):
    target = tmp_path / "shared.txt"
    texts = [str(i) * 10_000 for i in range(8)]
    threads = [threading.Thread(target=write_text, args=(target, t), kwargs={"durable": False}) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read_text() in texts
    assert [p.name for p in tmp_path.iterdir()] == ["shared.txt"]
