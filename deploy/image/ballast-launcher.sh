#!/bin/sh
# /usr/local/bin/ballast inside the image: the jlink'ed runtime with the flags Ballast needs (the
# same as bin/ballast): native access for jnr-ffi and Netty's epoll, sun.misc.Unsafe allowed, exit
# on OutOfMemoryError (a node whose Raft threads died would look alive but serve nothing).
# JIT and heap flags by command (bin/jvm-opts, installed as /opt/ballast/jvm-opts);
# BALLAST_JAVA_OPTS replaces them, e.g. "-Xmx2g -XX:+UseParallelGC".
. /opt/ballast/jvm-opts
# shellcheck disable=SC2086
exec /opt/ballast/runtime/bin/java ${BALLAST_JAVA_OPTS:-$(ballast_jvm_opts "${1:-}")} -XX:+ExitOnOutOfMemoryError \
  --enable-native-access=ALL-UNNAMED -Dsun.misc.unsafe.memory.access=allow -jar /opt/ballast/ballast.jar "$@"
