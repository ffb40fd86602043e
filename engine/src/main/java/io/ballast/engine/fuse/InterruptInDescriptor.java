package io.ballast.engine.fuse;

/**
 * {@code struct fuse_interrupt_in}: the body of INTERRUPT; also the layout of
 * {@code struct fuse_forget_in} (one u64: FORGET's nlookup) which we read the same way.
 *
 * <pre>
 *   0               8
 *   +---------------+
 *   |    unique     |   the request the kernel would like to abandon (INTERRUPT)
 *   +---------------+
 * </pre>
 */
final class InterruptInDescriptor {
    private InterruptInDescriptor() {
    }

    static final int LENGTH = 8;
    static final int UNIQUE_OFFSET = 0;
}
