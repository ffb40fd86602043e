package io.ballast.engine.fuse;

/**
 * The common start of {@code struct fuse_flush_in} and {@code struct fuse_release_in}: the
 * file handle. We need nothing else from either record.
 *
 * <pre>
 *   fuse_flush_in:    0 fh u64 | 8 unused u32 | 12 pad u32 | 16 lock_owner u64       (24)
 *   fuse_release_in:  0 fh u64 | 8 flags u32 | 12 release_flags u32 | 16 lock_owner (24)
 * </pre>
 */
final class FhInDescriptor {
    private FhInDescriptor() {
    }

    static final int LENGTH = 24;
    static final int FH_OFFSET = 0;
}
