#!/bin/sh
# Renders `vfio-policy map --format html` and `vfio-policy diff --format html` in headless Chromium and checks the
# screenshots are the expected grids: pixel colours at known cells (passthrough, virtualized, denied, hidden, a mixed
# byte's two triangles, a capability boundary), the folded bar standing for the uniform rows, and in the diff's old
# and new grids the outlines of a widened and a narrowed byte. Installs Debian's chromium when it is missing (needs
# root, as on CI).
#
#   tests/map-render/run.sh                    # from the repository root; builds the CLI with `dotnet run`
#   VFIOPOLICY_CLI="dotnet path/to/vfio-policy.dll" tests/map-render/run.sh   # use a CLI built elsewhere
#
# Exit 0: every check passed; 1: a check failed; 2: cannot run (no chromium and no way to install it).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
started=$(date +%s)

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "map-render: chromium is not installed and installing it needs root" >&2
    exit 2
  fi
  echo "map-render: installing chromium" >&2
  apt-get update >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null
fi
installed=$(date +%s)

cli=${VFIOPOLICY_CLI:-"dotnet run --project cli/VfioPolicy.Cli --"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
edu=tests/corpus/qemu/vm2_08-03.0_1234-11e8.xxxx.txt

render() { # NAME WIDTH: screenshots $work/NAME.html to $work/NAME.png in a window WIDTH px wide
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$work/profile-$1" --force-device-scale-factor=1 \
    --hide-scrollbars --window-size="$2,700" --screenshot="$work/$1.png" "file://$work/$1.html" >"$work/$1.log" 2>&1 || {
      cat "$work/$1.log" >&2
      exit 1
    }
}

shoot() { # POLICY NAME: renders the policy's map of the edu device to $work/NAME.png
  $cli map --policy "$1" --device "$edu" --format html >"$work/$2.html"
  render "$2" 1100
}

# The grid's geometry (cli/VfioPolicy.Cli/Rendering/HtmlMapGrid.cs): 16 cells a row of 32x24 px from x 56; drawn row
# i (a fold counts as one) has a 12 px label row at y 48 + 36 i and its cells 12 px below; a diff's second grid is
# 592 px right of the first. On edu the rows 0x00..0x40 are drawn as they are (every one has a named register), so
# drawn row = offset / 16 there; 0x50..0xff is one uniform run of gap bytes, folded into drawn row 5.
cell_x() { echo "$((${2:-0} * 592 + 56 + ($1 % 16) * 32))"; }  # OFFSET [PANEL]
cell_y() { echo "$((48 + ($1 / 16) * 36 + 12))"; }              # OFFSET
# Points 6 px inside a cell's upper-left and lower-right corners miss the borders and the centred hex text.
upper_left() { echo "$(($(cell_x "$1" "${2:-0}") + 6)),$(($(cell_y "$1") + 6))"; }
lower_right() { echo "$(($(cell_x "$1" "${2:-0}") + 26)),$(($(cell_y "$1") + 18))"; }
both() { echo "$(upper_left "$1")=$2 $(lower_right "$1")=$2"; }
# The 4 px outline of a changed byte: 2 px inside its left edge, at mid height; and its fill just inside the outline.
outline() { echo "$(($(cell_x "$1" "$2") + 2)),$(($(cell_y "$1") + 12))=$3"; }        # OFFSET PANEL COLOUR
inside() { echo "$(($(cell_x "$1" "$2") + 7)),$(($(cell_y "$1") + 5))=$3"; }          # OFFSET PANEL COLOUR
# The fold of 0x50..0xff on drawn row 5: filled in its class colour where an unfolded row has the white 1 px border
# between cells 0x5e and 0x5f, and nothing (white) where drawn row 6 would be.
fold_y=$((48 + 5 * 36 + 12 + 12))
after_fold_y=$((48 + 6 * 36 + 12 + 12))
folded() { echo "$((${2:-0} * 592 + 56 + 15 * 32)),$fold_y=$1 $((${2:-0} * 592 + 56 + 15 * 32 + 24)),$fold_y=$1 $((${2:-0} * 592 + 100)),$after_fold_y=#ffffff"; }  # COLOUR [PANEL]

passthrough='#43a047' virtualized='#1e88e5' denied='#e53935' hidden='#9e9e9e'
widening='#d500f9' narrowing='#00e5ff'

shoot policies/strict.vfiopolicy strict
# strict on edu: VENDOR_ID passthrough; COMMAND's low byte mixed (4 denied bits, 3 virtualized, 1 passthrough: red over
# blue); BIST denied; BAR 0 virtualized; INTERRUPT_LINE virtualized, INTERRUPT_PIN passthrough; 0x50..0xff are gap
# bytes (denied), folded; MSI's ID at 0x40 is a chain link (virtualized) and its top edge is the header/capability
# boundary.
# shellcheck disable=SC2046  # the point lists are meant to split into arguments
python3 "$here/check_pixels.py" "$work/strict.png" \
  $(both 0x00 "$passthrough") \
  "$(upper_left 0x04)=$denied" "$(lower_right 0x04)=$virtualized" \
  $(both 0x0f "$denied") \
  $(both 0x10 "$virtualized") \
  $(both 0x3c "$virtualized") $(both 0x3d "$passthrough") \
  $(folded "$denied") \
  $(both 0x40 "$virtualized") \
  "$((56 + 16)),$(($(cell_y 0x40) + 1))=#000000"

shoot tests/map-render/edu-hidden-msi.vfiopolicy hidden
python3 "$here/check_pixels.py" "$work/hidden.png" $(both 0x44 "$hidden") $(both 0x00 "$passthrough")

# diff strict -> edu-opened on edu: BIST (0x0f) widens from denied to passthrough, LATENCY_TIMER (0x0d) narrows from
# virtualized to denied; both grids outline both bytes, each filled in its side's colour; HEADER_TYPE (0x0e) between
# them is unchanged and has no outline; the gap still folds.
$cli diff policies/strict.vfiopolicy tests/map-render/edu-opened.vfiopolicy --device "$edu" --format html >"$work/diff.html" || [ $? = 1 ]
render diff 1650
python3 "$here/check_pixels.py" "$work/diff.png" \
  "$(outline 0x0f 0 "$widening")" "$(inside 0x0f 0 "$denied")" \
  "$(outline 0x0f 1 "$widening")" "$(inside 0x0f 1 "$passthrough")" \
  "$(outline 0x0d 0 "$narrowing")" "$(inside 0x0d 0 "$virtualized")" \
  "$(outline 0x0d 1 "$narrowing")" "$(inside 0x0d 1 "$denied")" \
  "$(outline 0x0e 0 "$passthrough")" "$(outline 0x0e 1 "$passthrough")" \
  $(folded "$denied" 0) $(folded "$denied" 1)

finished=$(date +%s)
echo "map-render: passed (chromium install $((installed - started)) s, render and check $((finished - installed)) s)"
