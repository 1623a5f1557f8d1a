"""Guards against a Qt binding that corrupts Python reference counts.

PySide6 6.12.0 drops a reference to ``True`` on every ``Signal.emit`` and to ``None`` on
``beginResetModel``/``endResetModel`` and ``processEvents``. On Python 3.11, where ``True`` and ``None``
are ordinary objects, a session that emits a few thousand signals (thumbnails arriving, progress
reports) aborts with "Fatal Python error: bool_dealloc". 6.11.3 is correct. This test names the cause,
instead of leaving a crash at interpreter exit to be debugged.
"""

from __future__ import annotations

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
    move it too while one try runs; the binding's leak drops one reference per call in every try."""
    drifts = []
    for _try in range(3):
        gc.collect()
        before = sys.getrefcount(obj)
        for _ in range(ROUNDS):
            action()  # type: ignore[operator]
        gc.collect()
        drifts.append(sys.getrefcount(obj) - before)
    return max(drifts)


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
