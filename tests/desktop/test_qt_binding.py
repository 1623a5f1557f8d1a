"""Guards against a Qt binding that corrupts Python reference counts.

PySide6 6.12.0 drops a reference to ``True`` on every ``Signal.emit`` and to ``None`` on
``beginResetModel``/``endResetModel`` and ``processEvents``. On Python 3.11, where ``True`` and ``None``
are ordinary objects, a session that emits a few thousand signals (thumbnails arriving, progress
reports) aborts with "Fatal Python error: bool_dealloc". 6.11.3 is correct. This test names the cause,
instead of leaving a crash at interpreter exit to be debugged.
"""

from __future__ import annotations

import ctypes
import gc
import sys

import PySide6
from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Signal

ROUNDS = 200
ADVICE = f"PySide6 {PySide6.__version__} corrupts reference counts; install PySide6-Essentials!=6.12.0"


class _Emitter(QObject):
    happened = Signal()


class _EmptyModel(QAbstractListModel):
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        return None


def _drift(obj: object, action: object) -> int:
    """How far ``obj``'s reference count moves over ``ROUNDS`` calls of ``action``: the best of three
    tries, since another thread of the test process (a job, a timer of an earlier test's window) may
    move it too while one try runs; the binding's leak drops one reference per call in every try.

    The cyclic collector is paused while a try runs, rather than run before and after it: a collection
    that frees old garbage holding ``obj`` would move the count, and a full collection of a test
    process that has loaded many modules takes about a second (six of them made these tests the
    slowest of the desktop suite). With it paused, only the calls themselves (and other threads) move
    the count; their own garbage has no cycles and goes at once."""
    drifts = []
    collecting = gc.isenabled()
    gc.disable()
    try:
        for _try in range(3):
            before = sys.getrefcount(obj)
            for _ in range(ROUNDS):
                action()  # type: ignore[operator]
            drifts.append(sys.getrefcount(obj) - before)
    finally:
        if collecting:
            gc.enable()
    return max(drifts)


def test_the_drift_sees_a_binding_that_drops_a_reference_per_call() -> None:
    """The measure itself can fail: a call that drops one reference, as the broken binding does, is
    seen (on an object of this test's own, given enough references first to drop them safely)."""
    held = object()
    pointer = ctypes.py_object(held)
    for _ in range(3 * ROUNDS):
        ctypes.pythonapi.Py_IncRef(pointer)
    assert _drift(held, lambda: ctypes.pythonapi.Py_DecRef(pointer)) <= -ROUNDS
    assert _drift(held, lambda: None) == 0


def test_emitting_a_signal_keeps_the_count_of_true() -> None:
    emitter = _Emitter()
    emitter.happened.connect(lambda: None)
    assert _drift(True, emitter.happened.emit) > -ROUNDS // 2, ADVICE


def test_resetting_a_model_keeps_the_count_of_none() -> None:
    model = _EmptyModel()

    def reset() -> None:
        model.beginResetModel()
        model.endResetModel()

    assert _drift(None, reset) > -ROUNDS // 2, ADVICE
