#!/bin/sh
# libkvclient under failure: tests/kv_reliability kills a writer mid-load,
# makes a replica unreadable, kills the predictor's iolatd under reads, and
# closes the loop from the read log through iolatd train and calibrate.
set -u
b=${top_builddir:-.}
# In a sanitizer build, undefined behaviour fails the test instead of
# scrolling by.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export UBSAN_OPTIONS
exec "$b/tests/kv_reliability" "$b/daemon/iolatd"
