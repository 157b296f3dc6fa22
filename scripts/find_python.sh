#!/usr/bin/env bash
# Print the path of a Python >= 3.12 (Careline needs it; this machine's python3 may be 3.11).
set -u
check() { "$@" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
for cand in python3.13 python3.12 python3.14; do
  if command -v "$cand" >/dev/null 2>&1 && check "$cand"; then command -v "$cand"; exit 0; fi
done
# pyenv installs whose shims are not active
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for dir in "$root"/versions/3.13* "$root"/versions/3.12* "$root"/versions/3.14*; do
  if [ -x "$dir/bin/python3" ] && check "$dir/bin/python3"; then echo "$dir/bin/python3"; exit 0; fi
done
for cand in /usr/bin/python3.13 /usr/bin/python3.12 /usr/local/bin/python3.13 /usr/local/bin/python3.12 python3; do
  if [ -x "$(command -v "$cand" 2>/dev/null)" ] && check "$cand"; then command -v "$cand"; exit 0; fi
done
echo "Careline needs Python 3.12 or newer: install python3.13 (or 3.12) and retry." >&2
exit 1
