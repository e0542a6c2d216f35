#!/bin/sh -p
# crux launcher for MCP servers with credentials (installed by crux into CRUX_HOME/launchers/;
# the source is launchers/keychain-auth.sh in the crux repository).
#
# An MCP host runs it with CRUX_MCP_NAME and CRUX_AUTH_ENV_VARS in the environment and the
# server's command line as arguments. crux fetches the credentials in one batch and execs the
# server with them added to its environment; they never appear in argv or on disk. A missing
# credential (or keystore, or server binary) stops the launch with exit 78 and one line on
# stderr; as hosts hide stderr, crux first answers the host's first JSON-RPC request on stdin
# with that line (waiting at most 5 s, not at all on a terminal).
# `sh -p`: where /bin/sh is bash, it then ignores BASH_ENV, ENV, SHELLOPTS and exported
# functions, which an entry's environment could use to run code before crux starts.
# Filled in at install time, each as one single-quoted shell word.
installed_bin=@CRUX_BIN@
CRUX_HOME=@CRUX_HOME@
crux_bin=$installed_bin
if [ ! -x "$crux_bin" ]; then
  crux_bin=$(command -v crux 2>/dev/null) || {
    echo "crux launcher: the crux binary is gone from $installed_bin and not on PATH; reinstall crux, then run: crux project sync --all" >&2
    exit 78
  }
fi
export CRUX_HOME
exec "$crux_bin" launch -- "$@"
