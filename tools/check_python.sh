#!/bin/sh
# Refuse, with what to install, when make found no supported Python (3.11-3.14).
# $1 is the Python the Makefile chose (empty when tools/find_python.sh found none).
if [ -n "$1" ] && "$1" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 14))' \
    >/dev/null 2>&1; then
    if ! "$1" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        echo "error: $1 cannot make virtual environments (the venv module is missing)." >&2
        echo "  Debian, Ubuntu, WSL: sudo apt install python3-venv  (or python3.X-venv)" >&2
        exit 1
    fi
    exit 0
fi
found=$( (python3 --version) 2>&1 | head -n 1)
cat >&2 <<MSG
error: this course needs Python 3.11, 3.12, 3.13 or 3.14 (3.13 preferred);
       ${1:-python3} is ${found:-not installed}.
  macOS:          install Python 3.13 from https://www.python.org/downloads/ (or
                  'brew install python@3.13'); the system Python 3.9 is too old.
  Ubuntu, WSL:    sudo apt install python3.12 python3.12-venv make   (Ubuntu 24.04), or
                  use the deadsnakes PPA for 3.13 on older releases.
  Windows:        use WSL (see the README), or conda: conda env create -f environment.yml
  Then run make again, or name the Python: make lab PYTHON=/path/to/python3.13
MSG
exit 1
