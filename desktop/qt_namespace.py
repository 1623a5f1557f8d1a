"""PySide's ``Qt`` namespace, built when a value of it is first needed rather than when a module names it.

PySide makes all 93 enum types of the ``Qt`` namespace (1,195 members, Python ``enum`` classes) at once,
the first time anything reaches ``PySide6.QtCore.Qt``: a ``from PySide6.QtCore import Qt``, a value read
from it, an overload PySide checks against one of its enums, or a Qt call that hands one back. That is
~127M instructions (~10 ms), a fifth of a bare PySide6 window's whole start, before Atelier's first frame.

So the window's modules import ``Qt`` from here: the same names, resolved on first use (then cached), and
the first frame reaches none of them. What it needs of the namespace it sets without a PySide enum:
``set_enum_property`` names a Qt property's value the way Qt Designer files do, through Qt's own
meta-object, and the few integers below stand for the values Qt takes as plain ``int`` (item roles,
``QPainter.drawText`` flags). A test checks each against PySide's enum, and another that a returning
user's first frame never builds the namespace (``tests/desktop/test_first_frame_qt_namespace.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "ALIGN_LEFT_VCENTER",
    "DISPLAY_ROLE",
    "USER_ROLE",
    "Qt",
    "set_enum_property",
]

if TYPE_CHECKING:
    from PySide6.QtCore import QObject, Qt
else:
    from PySide6 import QtCore

    class _QtOnFirstUse:
        """Reads each name from ``PySide6.QtCore.Qt`` when first asked, then keeps it (later reads are
        plain attribute reads)."""

        def __getattr__(self, name: str) -> Any:
            value = getattr(QtCore.Qt, name)
            setattr(self, name, value)
            return value

        def __repr__(self) -> str:
            return "<PySide6.QtCore.Qt, read on first use>"

    Qt = _QtOnFirstUse()

# Qt takes these as plain ints (item roles are ints in every model method; QPainter.drawText has int flags).
DISPLAY_ROLE = 0  # Qt.ItemDataRole.DisplayRole: default arguments are evaluated as a module is imported
USER_ROLE = 256  # Qt.ItemDataRole.UserRole: a model's own roles start after it
ALIGN_LEFT_VCENTER = 0x0001 | 0x0080  # Qt.AlignmentFlag.AlignLeft | AlignVCenter


def set_enum_property(target: QObject, name: str, keys: str) -> None:
    """Sets ``target``'s Qt property ``name`` to the enum value named ``keys`` (``"A|B"`` for flags),
    as ``"NoFocus"`` for ``focusPolicy``: Qt converts the names itself, so no PySide enum is built.

    Raises ``ValueError`` where the class has no such property or the names are not its values (Qt
    would otherwise add a dynamic property of that name and change nothing)."""
    if not target.setProperty(name, keys):
        raise ValueError(f"{type(target).__name__} has no enum property {name!r} with the value {keys!r}")
