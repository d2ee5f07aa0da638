#!/bin/sh
# Print the first Python the course supports (3.11 to 3.14), preferring the
# course's own Python, 3.13. With an argument (e.g. 3.11), print only that one.
# Prints nothing when none is found; the Makefile then explains what to install.
# A candidate must really run: pyenv installs shims that exist but fail.
if [ -n "$1" ]; then candidates="python$1"; else
    candidates="python3.13 python3.14 python3.12 python3.11 python3"
fi
for p in $candidates; do
    if "$p" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 14))' \
        >/dev/null 2>&1; then
        command -v "$p"
        exit 0
    fi
done
