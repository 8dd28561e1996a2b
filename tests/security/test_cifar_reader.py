"""The CIFAR batch reader (``safe_pickle`` + ``cifar.load_batch``) against issue 18's
pickles: each is refused quickly, with an error naming what was wrong, in a subprocess
under a memory limit (``pickle_cases.run_cases``), so that a crash or a 2 GB allocation
fails the test instead of taking pytest down. Batches written as the originals were
(Python 2 cPickle, protocol 2) and as Python 3 re-pickles them still load."""
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from pickle_cases import PLAIN_U1_STATE, array, batch, dtype_u1, i, in_batch, py2_pickle, run_cases, s  # noqa: E402

from graphflow.keras.datasets import safe_pickle  # noqa: E402
from graphflow.keras.datasets.cifar import load_batch  # noqa: E402
from graphflow.keras.saving import LoadError  # noqa: E402

_U1 = b"cnumpy\ndtype\n" + s("u1") + b"K\x00K\x01\x87R" + PLAIN_U1_STATE + b"b"
_ROW = b"K\x01M\x00\x0c\x86"  # the shape (1, 3072)
_PIXELS = bytes(range(256)) * 12

ATTACKS = {
    # BUILD gives the approved uint8 dtype a field 1 MiB past its one byte: reading it
    # prints heap bytes (the dtype still compares equal to uint8)
    "dtype fields": (in_batch(array(_ROW, dtype_u1(b"(K\x03" + s("|") + b"N(" + s("x") + b"t}" + s("x") + _U1
                                                   + i(1 << 20) + b"\x86sK\x01K\x01K\x00t"), _PIXELS), 1),
                     "dtype"),
    # ... or a sub-array of 2^30 elements: each stored byte becomes 1 GiB
    "dtype sub-array": (in_batch(array(_ROW, dtype_u1(b"(K\x03" + s("|") + _U1 + i(1 << 30) + b"\x85\x86NN"
                                                      + i(-1) + i(-1) + b"K\x00t"), _PIXELS), 1),
                        "dtype state other than a plain uint8"),
    "dtype flags": (in_batch(array(_ROW, dtype_u1(b"(K\x03" + s("|") + b"NNN" + i(-1) + i(-1) + b"K\x3ft"),
                                   _PIXELS), 1), "dtype state"),
    "object dtype": (in_batch(array(_ROW, b"cnumpy\ndtype\n" + s("O8") + b"K\x00K\x01\x87R" + PLAIN_U1_STATE
                                    + b"b", _PIXELS), 1), "refusing dtype object"),
    # a nested-tuple memo bomb: 60 levels of (t, t), then hashed as a dict key
    "memo bomb": (b"\x80\x02Nq\x000" + b"h\x00h\x00\x86q\x000" * 60 + b"}h\x00K\x01s.",
                  "second reference to a tuple"),
    "shared list": (b"\x80\x02]q\x00(h\x00h\x00e.", "second reference to a list"),
    "deep TUPLE1": (in_batch(b"K\x00" + b"\x85" * 1_000_000), "nested more than 8 deep"),
    "deep lists": (b"\x80\x02" + b"]" * 1000 + b"a" * 999 + b".", "nested more than 8 deep"),
    # 9 bytes: memo index 2^28 (the stock unpickler sizes its memo array to it: 2.1 GB)
    "memo index": (b"\x80\x02Nr\xff\xff\xff\x0f.", "holds a NoneType"),
    "byte length 2^40": (b"\x80\x02\x8e" + struct.pack("<Q", 1 << 40) + b"x.", "runs past the end"),
    "text length 2^40": (b"\x80\x04\x8d" + struct.pack("<Q", 1 << 40) + b"x.", "runs past the end"),
    "string length 2^31-1": (b"\x80\x02T\xff\xff\xff\x7fx.", "runs past the end"),
    "frame past the end": (b"\x80\x04\x95" + struct.pack("<Q", 1 << 40) + b"N.", "frame of"),
    "array larger than its bytes": (in_batch(array(b"J\x00\x00\x00\x40\x85", _U1, b"\x01")),
                                    r"needs 1073741824 bytes but 1 are stored"),
    "zero-size array of 2^127 columns": (in_batch(array(b"K\x00\x8a\x10" + b"\xff" * 15 + b"\x7f\x86", _U1, b"")),
                                          "not a tuple of at most 32 sizes"),
    "a million empty lists": (b"\x80\x02(" + b"]" * 1_000_000 + b"l.", r"more than 8812 opcodes in 1000005 bytes"),
    "a megabyte of NONE": (b"\x80\x02" + b"N0" * 500_000 + b"N.", "more than 8812 opcodes"),
    "huge integer": (b"\x80\x02\x8b" + struct.pack("<i", 1 << 20) + b"\x01" * (1 << 20) + b".",
                     r"LONG4\) is not part of a data set pickle"),
    "os.system": (b"\x80\x02cos\nsystem\n" + s("touch /tmp/pwned") + b"\x85R.", "refusing to load global os.system"),
    "builtins via STACK_GLOBAL": (b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93.", "global builtins.eval"),
    "ndarray called": (b"\x80\x02cnumpy\nndarray\nJ\x00\x00\x00\x40\x85R.", r"numpy.ndarray\(...\) directly"),
    "NEWOBJ": (b"\x80\x02cnumpy\ndtype\n)\x81.", r"NEWOBJ\) is not part"),
    "protocol 5": (b"\x80\x05N.", "protocol 5"),
    "trailing bytes": (py2_pickle({b"data": np.zeros((0, 3072), np.uint8), b"labels": []}) + b"cos\nsystem\n",
                       "bytes after the end"),
    "unknown key": (py2_pickle({b"data": np.zeros((0, 3072), np.uint8), b"labels": [], b"x": 1}),
                    "has the key"),
    "labels not ints": (py2_pickle({b"data": np.zeros((1, 3072), np.uint8), b"labels": [b"7"]}),
                        "list of 1 ints.*holding a bytes"),
    "filenames short": (py2_pickle({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 2],
                                    b"filenames": [b"a.png"]}), "'filenames' should be a list of 2 strings"),
}


def test_every_attack_is_refused_quickly_with_a_reason():
    names = list(ATTACKS)
    results = run_cases([ATTACKS[n][0] for n in names], limit_mb=256)
    for name, (seconds, kind, text) in zip(names, results):
        assert kind == "refused", f"{name}: {kind} {text}"
        assert text.startswith("CIFAR batch"), f"{name}: {text}"
        assert __import__("re").search(ATTACKS[name][1], text), f"{name}: {text}"
        assert seconds < 1.0, f"{name} took {seconds:.2f} s"


def test_a_batch_written_as_python2_wrote_the_originals_loads():
    data, images, labels = batch(5, seed=3)
    assert data.startswith(b"\x80\x02}q\x00(U\x0bbatch_label")  # cPickle's protocol 2, Python 2 strings
    got, got_labels = load_batch(data)
    np.testing.assert_array_equal(got, images.reshape(5, 3, 32, 32))
    assert got_labels == labels and got.flags.writeable and got.flags.c_contiguous
    # a hand-assembled stream with cPickle's int dtype arguments (0, 1) and no memo
    got, got_labels = load_batch(in_batch(array(_ROW, _U1, _PIXELS), 1))
    assert got.shape == (1, 3, 32, 32) and got.ravel().tolist() == list(_PIXELS) and got_labels == [0]


def test_a_large_batch_loads_within_the_opcode_and_memory_budgets():
    """2,000 images (a fifth of a real batch), each with its label and file name: the
    opcodes a real batch has per image fit the cap with room to spare."""
    n = 2000
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, n)]
    data = py2_pickle({b"batch_label": b"testing batch 1 of 1", b"labels": labels, b"data": images,
                       b"filenames": [f"leptodactylus_pictus_s_{k:06d}.png".encode() for k in range(n)]})
    got, got_labels = load_batch(data)
    np.testing.assert_array_equal(got.reshape(n, 3072), images)
    assert got_labels == labels


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_python3_repickles_load(protocol):
    """Python 3 at protocol 2 writes bytes as ``_codecs.encode(text, 'latin1')``."""
    images = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    data = pickle.dumps({b"data": images, b"labels": [3, 4], b"batch_label": "b", b"filenames": ["a", "b"]},
                        protocol=protocol)
    got, labels = load_batch(data)
    np.testing.assert_array_equal(got.reshape(2, 3072), images)
    assert labels == [3, 4]


def test_plain_data_and_numeric_arrays_round_trip():
    values = {"f4": np.arange(6, dtype=">f4").reshape(2, 3), "i8": np.arange(4).reshape(2, 2, order="F"),
              "b1": np.array([True, False]), "x": [1, -5, 2**70, 1.5, None, True, "é", b"\x00", (1, (2, ()))]}
    for protocol in (2, 3, 4):
        got = safe_pickle.loads(pickle.dumps(values, protocol=protocol))
        assert got["x"] == values["x"]
        for k in ("f4", "i8", "b1"):
            np.testing.assert_array_equal(got[k], values[k])
            assert got[k].dtype == values[k].dtype
    with pytest.raises(safe_pickle.PickleRefused, match=r"exceed 16x the 200005-byte input"):
        safe_pickle.loads(b"\x80\x02(" + b"]" * 200_000 + b"l.")  # without an opcode cap: the memory budget
    with pytest.raises(safe_pickle.PickleRefused, match="byte 2: the stack is empty"):
        safe_pickle.loads(b"\x80\x02a.")
    with pytest.raises(LoadError, match="cannot be read: byte 3: opcode b'V' \\(UNICODE\\)"):
        load_batch(b"\x80\x02(Vx\n.")
