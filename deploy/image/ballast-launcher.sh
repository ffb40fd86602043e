#!/bin/sh
# /usr/local/bin/ballast inside the image: the jlink'ed runtime with the flags Ballast needs (the
# same as bin/ballast): native access for jnr-ffi and Netty's epoll, sun.misc.Unsafe allowed, exit
# on OutOfMemoryError (a node whose Raft threads died would look alive but serve nothing).
# BALLAST_JAVA_OPTS replaces the heap settings, e.g. "-Xmx2g -XX:+UseParallelGC".
# shellcheck disable=SC2086
exec /opt/ballast/runtime/bin/java ${BALLAST_JAVA_OPTS:--Xmx1g -XX:+UseParallelGC} -XX:+ExitOnOutOfMemoryError \
  --enable-native-access=ALL-UNNAMED -Dsun.misc.unsafe.memory.access=allow -jar /opt/ballast/ballast.jar "$@"
