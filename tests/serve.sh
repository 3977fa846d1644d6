#!/bin/sh
# iolatd serve, end to end: tests/serve_test starts the real daemon for each
# case (decisions equal iolatd predict's, every error code, load, reload
# under load, SIGTERM under load) and speaks the real protocol to it.
set -u
b=${top_builddir:-.}
s=${top_srcdir:-.}
# In a sanitizer build, undefined behaviour fails the test instead of
# scrolling by (the driver also checks the daemon's stderr for reports).
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export UBSAN_OPTIONS
exec "$b/tests/serve_test" "$b/daemon/iolatd" "$s/models/iolat-default-int8.h5"
