"""A seeded, time-bounded fuzzer of the CIFAR batch reader: random pickle opcode streams
(every opcode of every protocol, with arguments well-formed, extreme or cut short) and
mutations of a valid Python 2 batch (bytes flipped, cut, repeated, opcodes inserted,
dropped or swapped, integer arguments pushed to their extremes). Every case runs in one
subprocess under a memory limit; the only outcomes allowed are a correct load and a
``LoadError`` — no other exception, no crash, no case slower than a second — and a load
must read what the stock unpickler reads from the same bytes.

GRAPHFLOW_FUZZ_SEED and GRAPHFLOW_FUZZ_CASES replay or deepen a run."""
import os
import pickle
import pickletools
import random
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from pickle_cases import batch, run_cases  # noqa: E402

SEED = int(os.environ.get("GRAPHFLOW_FUZZ_SEED", 18))
CASES = int(os.environ.get("GRAPHFLOW_FUZZ_CASES", 400))
_OPCODES = list(pickletools.opcodes)
_EXTREMES = [0, 1, 2**7, 2**8 - 1, 2**15, 2**16 - 1, 2**31 - 1, 2**31, 2**32 - 1, 2**40, 2**63, 2**64 - 1]


def _length(rng, real):
    return real if rng.random() < 0.8 else rng.choice([v for v in _EXTREMES if v < 2**64])


def _argument(rng, arg):
    """Bytes for one opcode argument of kind ``arg`` (pickletools' descriptor)."""
    if arg is None:
        return b""
    n = arg.n
    if n > 0:
        return bytes(rng.getrandbits(8) for _ in range(n))
    payload = rng.choice([b"", b"x", b"data", b"numpy", b"labels", bytes(rng.getrandbits(8) for _ in range(9))])
    if n == pickletools.UP_TO_NEWLINE:
        return rng.choice([b"numpy", b"numpy.core.multiarray", b"os", b"1", b"'a'", payload]) + b"\n"
    if n == pickletools.TAKEN_FROM_ARGUMENT1:
        return bytes([min(255, _length(rng, len(payload)))]) + payload
    fmt = {pickletools.TAKEN_FROM_ARGUMENT4: "<i", pickletools.TAKEN_FROM_ARGUMENT4U: "<I",
           pickletools.TAKEN_FROM_ARGUMENT8U: "<Q"}[n]
    bound = {"<i": 2**31 - 1, "<I": 2**32 - 1, "<Q": 2**64 - 1}[fmt]
    return struct.pack(fmt, min(bound, _length(rng, len(payload)))) + payload


def random_stream(rng):
    """A pickle of 1 to 60 random opcodes, usually after a PROTO and ending in STOP."""
    out = [b"\x80" + bytes([rng.choice([2, 2, 3, 4, 5, 0])])] if rng.random() < 0.9 else []
    for _ in range(rng.randint(1, 60)):
        op = rng.choice(_OPCODES)
        out.append(op.code.encode("latin1") + _argument(rng, op.arg))
    if rng.random() < 0.8:
        out.append(b".")
    return b"".join(out)


def _ops(data):
    """``[(start, end)]`` of each opcode of a valid pickle."""
    spans = [pos for _, _, pos in pickletools.genops(data)] + [len(data)]
    return list(zip(spans, spans[1:]))


def mutate(rng, data, spans):
    """One to three random mutations of the valid batch ``data``."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(7)
        a, b = rng.choice(spans)
        a, b = min(a, len(data)), min(b, len(data))
        if kind == 0:  # flip bytes
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.getrandbits(8)
        elif kind == 1:  # cut the tail or a middle piece
            del data[rng.randrange(len(data)):][:rng.choice([1, 7, 10**6])]
        elif kind == 2:  # repeat one opcode (a memo GET twice, a BUILD twice, an APPENDS twice...)
            data[a:a] = data[a:b] * rng.randint(1, 3)
        elif kind == 3:  # drop one opcode
            del data[a:b]
        elif kind == 4:  # insert a random opcode
            op = rng.choice(_OPCODES)
            data[a:a] = op.code.encode("latin1") + _argument(rng, op.arg)
        elif kind == 5:  # swap two opcodes
            c, d = rng.choice(spans)
            if b <= c and d <= len(data):
                data[a:d] = data[c:d] + data[b:c] + data[a:b]
        else:  # an integer argument pushed to an extreme
            if b - a in (2, 3, 5, 9):
                width = b - a - 1
                data[a + 1:b] = rng.choice(_EXTREMES).to_bytes(9, "little")[:width]
    return bytes(data)


def test_pickle_streams_give_a_load_or_a_clear_error():
    rng = random.Random(SEED)
    valid = batch(2, seed=SEED)[0]
    spans = _ops(valid)
    cases = [random_stream(rng) if k % 2 else mutate(rng, valid, spans) for k in range(CASES)]
    cases += [pickle.dumps(valid[:k], protocol=2) for k in (0, 1)] + [valid]
    results = run_cases(cases, limit_mb=256, timeout=300)
    kinds = {}
    for case, (seconds, kind, text) in zip(cases, results):
        kinds[kind] = kinds.get(kind, 0) + 1
        assert kind in ("ok", "refused"), f"seed {SEED}: {kind} {text} on {case[:120].hex()}"
        assert "MISMATCH" not in text, f"seed {SEED}: a load that is not the pickle's meaning: {text}"
        assert kind == "ok" or len(text) > len("CIFAR batch cannot be read: "), text
        assert seconds < 1.0, f"seed {SEED}: {seconds:.2f} s on {case[:120].hex()}"
    assert results[-1][1] == "ok"
    # the mutations leave some batches loadable, and refusals outnumber them
    assert kinds.get("ok", 0) > 1 and kinds["refused"] > CASES // 2, kinds
