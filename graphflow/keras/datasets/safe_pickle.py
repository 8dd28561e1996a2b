"""Reading pickled data sets (CIFAR's batches) without an unpickler.

A pickle is a program for a small stack machine: its ``GLOBAL`` opcodes import any
callable, ``REDUCE`` calls it and ``BUILD`` hands any object any state, and even with
imports restricted the stock machine can be driven into exponential hashing (memoised
nested tuples), deep recursion (a megabyte of ``TUPLE1``), huge allocations (a length or
memo index of 2^40) and NumPy dtypes that ``BUILD`` turns into structured or sub-array
types reading past their buffer. So data set pickles are read here by a machine of our
own that knows the few things a data file holds, and nothing else:

* plain data: ``None``, booleans, ints (at most 16 bytes), floats, byte strings (Python
  2's ``str``, read as ``bytes``, as ``pickle.load(encoding="bytes")`` does), text,
  lists, tuples and dicts whose keys are strings;
* NumPy arrays of plain numeric dtypes (bool, ints, floats), as every NumPy writes them:
  ``_reconstruct(ndarray, (0,), b'b')`` and ``BUILD (1, shape, dtype, fortran, bytes)``,
  the dtype ``dtype('u1', False, True)`` and ``BUILD`` of the plain dtype state; the
  array's bytes must be exactly ``prod(shape) * itemsize``;
* ``_codecs.encode(text, 'latin1')``, which Python 3 writes for bytes at protocol 2.

Protocols 1 to 4 (binary) are read; any other opcode, global or call is refused. The
promise, checked as it reads and not after: time linear in the file's size (every
opcode does constant work or work proportional to bytes it consumed; no container is
ever hashed, dict keys are strings); memory at most ``MEMORY_FACTOR`` times the file's
size plus 64 KiB (every object made is charged as it is made); containers nested at most
``MAX_DEPTH`` deep; memo fetches (``GET``) only of values that cannot multiply (strings,
numbers, arrays, flat tuples), never of lists or dicts. Every refusal and every damaged
file raises ``PickleRefused`` (a ``pickle.UnpicklingError``) that names the byte offset.

    >>> batch = loads(data)            # dict of plain data and NumPy arrays
"""
from __future__ import annotations

import pickle
import struct

from .pickle_numpy import GLOBALS, Global, PendingArray, PendingDtype, build, call

MAX_DEPTH = 8              # a CIFAR batch nests 2 deep (dict -> list -> bytes)
MAX_INT_BYTES = 16         # LONG1 payloads; LONG4 (arbitrary size) is refused
MEMORY_FACTOR = 16         # bytes of Python objects per byte of file, at most
_SLACK = 1 << 16


class PickleRefused(pickle.UnpicklingError):
    """The data is not a pickle of plain data and numeric arrays (or is damaged); the
    message says what was found and at which byte."""


# ------------------------------------------------------------------ the machine
class _Reader:
    def __init__(self, data: bytes, max_opcodes=None):
        self.data, self.pos, self.at = data, 0, 0   # at: where the current opcode starts
        self.stack, self.marks, self.memo = [], [], {}
        self.info = {}         # id(container) -> (depth, holds a stand-in)
        self.keep = []         # containers in ``info`` stay alive, so their ids stay theirs
        self.budget = MEMORY_FACTOR * len(data) + _SLACK
        self.max_opcodes = max_opcodes

    # -- input
    def fail(self, why, at=None):
        raise PickleRefused(f"byte {self.at if at is None else at}: {why}")

    def take(self, n):
        if n < 0 or n > len(self.data) - self.pos:
            self.fail(f"a length of {n} bytes runs past the end of the data ({len(self.data) - self.pos} left)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def line(self):
        end = self.data.find(b"\n", self.pos, self.pos + 256)
        if end < 0:
            self.fail("a module or name longer than 255 bytes, or unterminated")
        text = self.data[self.pos:end]
        self.pos = end + 1
        return text.decode("ascii", "replace")

    # -- accounting
    def charge(self, nbytes):
        self.budget -= nbytes
        if self.budget < 0:
            self.fail(f"the objects made exceed {MEMORY_FACTOR}x the {len(self.data)}-byte input; "
                      f"a data file never needs that")

    def push(self, obj, cost=8):
        self.charge(cost)
        self.stack.append(obj)

    def pop(self):
        if not self.stack or (self.marks and len(self.stack) == self.marks[-1]):
            self.fail("the stack is empty where a value was expected")
        return self.stack.pop()

    def pop_mark(self):
        if not self.marks:
            self.fail("a MARK was expected before this opcode")
        start = self.marks.pop()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def top(self):
        if not self.stack or (self.marks and len(self.stack) == self.marks[-1]):
            self.fail("the stack is empty where a container was expected")
        return self.stack[-1]

    # -- containers
    def depth(self, obj):
        return self.info.get(id(obj), (1, False)) if isinstance(obj, (list, tuple, dict)) else \
            (0, isinstance(obj, (Global, PendingDtype, PendingArray)))

    def note(self, container, items):
        """Record ``container``'s depth after ``items`` went in; refuse too deep."""
        depth, tainted = self.info.get(id(container), (1, False))
        for item in items:
            d, t = self.depth(item)
            depth, tainted = max(depth, d + 1), tainted or t
        if depth > MAX_DEPTH:
            self.fail(f"containers nested more than {MAX_DEPTH} deep; a data file is flat")
        if id(container) not in self.info:
            self.keep.append(container)
        self.info[id(container)] = (depth, tainted)

    def value(self, item):
        """``item`` as it may go into a list or dict: stand-ins may not."""
        if isinstance(item, PendingDtype) and item.built:
            return item.dtype
        if self.depth(item)[1]:
            self.fail("a NumPy helper (ndarray, a dtype in a tuple, an unfinished array) stored in a list or "
                      "dict: data files store finished arrays, and a plain dtype has no fields")
        return item

    def tuple_of(self, items):
        t = tuple(items)
        self.charge(56 + 8 * len(t))
        if t:
            self.note(t, t)
        return t

    def extend(self, items):
        lst = self.top()
        if not isinstance(lst, list):
            self.fail(f"APPEND onto a {type(lst).__name__}, not a list")
        items = [self.value(v) for v in items]
        self.charge(8 * len(items))
        self.note(lst, items)
        lst.extend(items)

    def set_items(self, items):
        if len(items) % 2:
            self.fail("SETITEMS with an odd number of keys and values")
        d = self.top()
        if not isinstance(d, dict):
            self.fail(f"SETITEM onto a {type(d).__name__}, not a dict")
        keys, values = items[::2], [self.value(v) for v in items[1::2]]
        for k in keys:
            if not isinstance(k, (bytes, str)):
                self.fail(f"a dict key of type {type(k).__name__}; data files key by strings only")
        self.charge(100 * len(keys))
        self.note(d, values)
        d.update(zip(keys, values))

    # -- memo
    def put(self, index):
        if index < 0:
            self.fail(f"a negative memo index {index}")
        obj = self.top()
        if index not in self.memo:
            self.charge(100)
        self.memo[index] = obj
        if isinstance(obj, PendingArray):
            obj.keys.append(index)

    def get(self, index):
        if index not in self.memo:
            self.fail(f"memo index {index} was never stored")
        obj = self.memo[index]
        if isinstance(obj, (list, dict, PendingArray)) or (isinstance(obj, tuple) and self.depth(obj)[0] > 1):
            self.fail(f"a second reference to a {type(obj).__name__.strip('_')} (memo index {index}); shared "
                      f"or recursive containers are refused, a data file never needs them")
        self.push(obj)

    # -- the loop
    def run(self):
        ops, left = _OPS, self.max_opcodes if self.max_opcodes is not None else len(self.data) + 1
        while True:
            left -= 1
            if left < 0:
                self.fail(f"more than {self.max_opcodes} opcodes in {len(self.data)} bytes, more than this kind "
                          f"of file holds")
            self.at = self.pos
            code = self.take(1)
            handler = ops.get(code)
            if handler is None:
                name = _OPNAMES.get(code, "unknown")
                self.fail(f"opcode {code!r} ({name}) is not part of a data set pickle")
            if handler(self) is _STOP:
                break
        if self.pos != len(self.data):
            self.at = self.pos
            self.fail(f"{len(self.data) - self.pos} bytes after the end of the pickle")
        if len(self.stack) != 1 or self.marks:
            self.fail("the pickle ends with a malformed stack")
        return self.value(self.stack[0])


_STOP = object()


def _stop(r):
    return _STOP


def _proto(r):
    v = r.take(1)[0]
    if not 1 <= v <= 4:
        r.fail(f"pickle protocol {v}; data set pickles are read at protocols 1 to 4")


def _frame(r):
    n = r.unpack("<Q")
    if n > len(r.data) - r.pos:
        r.fail(f"a frame of {n} bytes runs past the end of the data")


def _string(length_fmt, kind):
    def op(r):
        raw = r.take(r.unpack(length_fmt))
        if kind == "text":
            try:
                raw = raw.decode("utf-8", "surrogatepass")
            except UnicodeDecodeError as err:
                r.fail(f"text that is not UTF-8 ({err.reason})")
        r.push(raw, 40 + len(raw))
    return op


def _long1(r):
    n = r.take(1)[0]
    if n > MAX_INT_BYTES:
        r.fail(f"an integer of {n} bytes; data files hold at most {MAX_INT_BYTES}-byte integers")
    r.push(int.from_bytes(r.take(n), "little", signed=True), 40)


def _mark(r):
    r.charge(8)
    r.marks.append(len(r.stack))


def _global(r):
    module, name = r.line(), r.line()
    _push_global(r, module, name)


def _stack_global(r):
    name, module = r.pop(), r.pop()
    if not (isinstance(module, str) and isinstance(name, str)):
        r.fail("STACK_GLOBAL of values that are not text")
    _push_global(r, module, name)


def _push_global(r, module, name):
    found = GLOBALS.get((module, name))
    if found is None:
        r.fail(f"refusing to load global {module}.{name}: this data file names code to run, which a data "
               f"file never needs (only NumPy arrays and plain data are read)")
    r.push(found)


def _reduce(r):
    args = r.pop()
    fn = r.pop()
    r.push(call(r, fn, args), 64)


def _dict_from_mark(r):
    items = r.pop_mark()
    r.push({}, 64)
    r.set_items(items)


def _list_from_mark(r):
    items = r.pop_mark()
    r.push([], 56)
    r.extend(items)


def _tuple_n(n):
    def op(r):
        items = [r.pop() for _ in range(n)][::-1]
        r.push(r.tuple_of(items))
    return op


_OPS = {
    pickle.STOP: _stop, pickle.PROTO: _proto, pickle.FRAME: _frame, pickle.MARK: _mark,
    pickle.POP: lambda r: r.pop(), pickle.POP_MARK: lambda r: r.pop_mark() and None,
    pickle.NONE: lambda r: r.push(None), pickle.NEWTRUE: lambda r: r.push(True),
    pickle.NEWFALSE: lambda r: r.push(False),
    # BININT1's values are CPython's cached small ints: only the stack slot is new
    pickle.BININT: lambda r: r.push(r.unpack("<i"), 40), pickle.BININT1: lambda r: r.push(r.take(1)[0]),
    pickle.BININT2: lambda r: r.push(r.unpack("<H"), 40), pickle.LONG1: _long1,
    pickle.BINFLOAT: lambda r: r.push(r.unpack(">d"), 32),
    pickle.SHORT_BINSTRING: _string("<B", "bytes"), pickle.BINSTRING: _string("<i", "bytes"),
    pickle.SHORT_BINBYTES: _string("<B", "bytes"), pickle.BINBYTES: _string("<I", "bytes"),
    pickle.BINBYTES8: _string("<Q", "bytes"), pickle.SHORT_BINUNICODE: _string("<B", "text"),
    pickle.BINUNICODE: _string("<I", "text"), pickle.BINUNICODE8: _string("<Q", "text"),
    pickle.EMPTY_DICT: lambda r: r.push({}, 64), pickle.EMPTY_LIST: lambda r: r.push([], 56),
    pickle.EMPTY_TUPLE: lambda r: r.push(()), pickle.DICT: _dict_from_mark, pickle.LIST: _list_from_mark,
    pickle.TUPLE: lambda r: r.push(r.tuple_of(r.pop_mark())), pickle.TUPLE1: _tuple_n(1),
    pickle.TUPLE2: _tuple_n(2), pickle.TUPLE3: _tuple_n(3),
    pickle.APPEND: lambda r: r.extend([r.pop()]), pickle.APPENDS: lambda r: r.extend(r.pop_mark()),
    pickle.SETITEM: lambda r: r.set_items([r.pop() for _ in range(2)][::-1]),
    pickle.SETITEMS: lambda r: r.set_items(r.pop_mark()),
    pickle.BINPUT: lambda r: r.put(r.take(1)[0]), pickle.LONG_BINPUT: lambda r: r.put(r.unpack("<I")),
    pickle.MEMOIZE: lambda r: r.put(len(r.memo)),
    pickle.BINGET: lambda r: r.get(r.take(1)[0]), pickle.LONG_BINGET: lambda r: r.get(r.unpack("<I")),
    pickle.GLOBAL: _global, pickle.STACK_GLOBAL: _stack_global, pickle.REDUCE: _reduce,
    pickle.BUILD: lambda r: build(r, r.pop()),
}
_OPNAMES = {getattr(pickle, n): n for n in dir(pickle) if n.isupper() and isinstance(getattr(pickle, n), bytes)
            and len(getattr(pickle, n)) == 1}


def loads(data: bytes, max_opcodes=None):
    """The object pickled in ``data`` (plain data and numeric NumPy arrays; Python 2
    strings come back as ``bytes``). Anything else, and any damage, raises
    ``PickleRefused`` (a ``pickle.UnpicklingError``) naming the byte where it was found.
    ``max_opcodes`` caps the work for a kind of file whose bytes are mostly array data
    (each opcode costs about a microsecond; a file may otherwise hold one per byte)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"loads expects the file's bytes, got {type(data).__name__}")
    reader = _Reader(bytes(data), max_opcodes)
    try:
        return reader.run()
    except PickleRefused:
        raise
    except MemoryError:  # the budget keeps us far below any sane limit; say so if one is lower still
        raise PickleRefused(f"ran out of memory reading a {len(reader.data)}-byte pickle (the reader needs at "
                            f"most {MEMORY_FACTOR}x its size)") from None
    except (ValueError, TypeError, OverflowError, UnicodeError) as err:  # a check above missed a case:
        # still a refusal, never a crash
        raise PickleRefused(f"byte {reader.at}: {type(err).__name__}: {err}") from None
