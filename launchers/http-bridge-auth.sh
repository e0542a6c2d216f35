#!/bin/sh -p
# crux launcher for remote MCP servers with OAuth (installed by crux into CRUX_HOME/launchers/;
# the source is launchers/http-bridge-auth.sh in the crux repository).
#
# An MCP host runs it as a stdio server with CRUX_MCP_NAME and CRUX_BRIDGE_URL in the
# environment. crux refreshes the server's token if it expires within 60 seconds, then
# bridges stdio to the server's Streamable HTTP endpoint with the token in the Authorization
# header; the token never appears in argv or on disk. A server that is not signed in stops the
# launch with exit 78 and one line on stderr, which also answers the host's first JSON-RPC
# request (hosts hide stderr). SIGINT, SIGTERM or SIGHUP end the remote session (DELETE) first.
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
exec "$crux_bin" bridge
