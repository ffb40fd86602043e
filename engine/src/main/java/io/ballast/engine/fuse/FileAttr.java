package io.ballast.engine.fuse;

/**
 * The attributes we report for one of our two inodes (the root directory, the volume file).
 * Atime, mtime and ctime are all {@code timeSeconds.timeNanos}: the volume file's times say
 * nothing useful, and constant times keep the kernel from invalidating its cache on getattr.
 */
record FileAttr(long ino, long size, int mode, int nlink, int uid, int gid, int blksize,
                long timeSeconds, int timeNanos) {
}
