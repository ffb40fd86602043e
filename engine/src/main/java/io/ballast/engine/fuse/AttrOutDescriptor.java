package io.ballast.engine.fuse;

/**
 * {@code struct fuse_attr_out}: the reply body of GETATTR.
 *
 * <pre>
 *   0       8       12      16                                    104
 *   +-------+-------+-------+-------------------------------------+
 *   |att_vld|att_ns | dummy | fuse_attr (AttrDescriptor, 88)      |
 *   +-------+-------+-------+-------------------------------------+
 *   att_vld (u64 s) + att_ns (u32 ns) = how long the kernel may cache the attributes.
 * </pre>
 */
final class AttrOutDescriptor {
    private AttrOutDescriptor() {
    }

    static final int LENGTH = 16 + AttrDescriptor.LENGTH;
    static final int ATTR_VALID_OFFSET = 0;
    static final int ATTR_VALID_NSEC_OFFSET = 8;
    static final int ATTR_OFFSET = 16;
}
