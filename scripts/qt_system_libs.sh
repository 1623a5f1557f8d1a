#!/usr/bin/env bash
# Prints the Debian/Ubuntu packages that provide the shared libraries Qt's plugins cannot find.
#
#   bash scripts/qt_system_libs.sh [LIBRARY...]     ldd on the given files (default: PySide6's xcb and
#                                                    offscreen platform plugins and the Qt libraries they load)
#   bash scripts/qt_system_libs.sh --ldd-output F   read ldd's output from F instead (for tests)
#
# One package per line on stdout, nothing when nothing is missing. A missing library with no known
# package is named on stderr. Asking ldd instead of keeping a fixed list keeps this right when a new
# PySide6 needs another library. Packages with a different name on newer releases (the t64 renames)
# are listed as alternatives and the first one apt knows is chosen.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

declare -A PACKAGE=(
  [libxcb-icccm.so.4]=libxcb-icccm4
  [libxcb-keysyms.so.1]=libxcb-keysyms1
  [libxcb-image.so.0]=libxcb-image0
  [libxcb-render-util.so.0]=libxcb-render-util0
  [libxcb-cursor.so.0]=libxcb-cursor0
  [libxcb-xkb.so.1]=libxcb-xkb1
  [libxkbcommon-x11.so.0]=libxkbcommon-x11-0
  [libxkbcommon.so.0]=libxkbcommon0
  [libxcb-shape.so.0]=libxcb-shape0
  [libxcb-randr.so.0]=libxcb-randr0
  [libxcb-xinerama.so.0]=libxcb-xinerama0
  [libxcb-xfixes.so.0]=libxcb-xfixes0
  [libxcb-sync.so.1]=libxcb-sync1
  [libxcb-shm.so.0]=libxcb-shm0
  [libxcb-render.so.0]=libxcb-render0
  [libxcb-util.so.1]=libxcb-util1
  [libxcb-xinput.so.0]=libxcb-xinput0
  [libxcb-glx.so.0]=libxcb-glx0
  [libxcb.so.1]=libxcb1
  [libX11-xcb.so.1]=libx11-xcb1
  [libX11.so.6]=libx11-6
  [libSM.so.6]=libsm6
  [libICE.so.6]=libice6
  [libEGL.so.1]=libegl1
  [libGL.so.1]=libgl1
  [libGLX.so.0]=libglx0
  [libOpenGL.so.0]=libopengl0
  [libfontconfig.so.1]=libfontconfig1
  [libfreetype.so.6]=libfreetype6
  [libdbus-1.so.3]=libdbus-1-3
  [libglib-2.0.so.0]="libglib2.0-0t64|libglib2.0-0"
  [libgthread-2.0.so.0]="libglib2.0-0t64|libglib2.0-0"
  [libgobject-2.0.so.0]="libglib2.0-0t64|libglib2.0-0"
  [libGLdispatch.so.0]=libglvnd0
  [libXau.so.6]=libxau6
  [libXdmcp.so.6]=libxdmcp6
  [libbsd.so.0]=libbsd0
  [libpng16.so.16]="libpng16-16t64|libpng16-16"
  [libbrotlidec.so.1]=libbrotli1
  [libbrotlicommon.so.1]=libbrotli1
  [libpcre2-8.so.0]=libpcre2-8-0
  [libexpat.so.1]=libexpat1
  [libz.so.1]=zlib1g
)

ldd_output() {
  if [ "${1:-}" = "--ldd-output" ]; then
    cat "$2"
    return
  fi
  local files=("$@")
  if [ ${#files[@]} -eq 0 ]; then
    local qt
    qt="$(ls -d .venv/lib/python3*/site-packages/PySide6/Qt 2>/dev/null | head -n 1)"
    [ -n "$qt" ] || { echo "PySide6 is not installed in .venv" >&2; exit 1; }
    files=(
      "$qt/plugins/platforms/libqxcb.so"
      "$qt/plugins/platforms/libqoffscreen.so"
      "$qt/lib/libQt6XcbQpa.so.6"
      "$qt/lib/libQt6Gui.so.6"
      "$qt/lib/libQt6Widgets.so.6"
    )
  fi
  local file
  for file in "${files[@]}"; do
    [ -e "$file" ] && ldd "$file" 2>/dev/null || true
  done
}

known_to_apt() {
  command -v apt-cache >/dev/null || return 0  # no apt: print the first name, the user maps it
  apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [^(]'
}

missing=$(ldd_output "$@" | awk '/=> not found/ {print $1}' | sort -u)
packages=()
for soname in $missing; do
  choices="${PACKAGE[$soname]:-}"
  if [ -z "$choices" ]; then
    echo "Qt needs $soname, which no known package provides here: install the package that has it" >&2
    continue
  fi
  chosen=""
  IFS='|' read -ra alternatives <<<"$choices"
  if [ ${#alternatives[@]} -gt 1 ]; then  # only a renamed package needs asking apt (slow)
    for package in "${alternatives[@]}"; do
      if known_to_apt "$package"; then chosen="$package"; break; fi
    done
  fi
  packages+=("${chosen:-${alternatives[-1]}}")
done
[ ${#packages[@]} -eq 0 ] || printf '%s\n' "${packages[@]}" | sort -u
