package io.ballast.engine.fuse;

/**
 * {@code struct fuse_entry_out}: the reply body of a successful LOOKUP.
 *
 * <pre>
 *   0       8       16      24      32      36      40                                128
 *   +-------+-------+-------+-------+-------+-------+------------------------------------+
 *   |nodeid |  gen  |ent_vld|att_vld|ent_ns |att_ns | fuse_attr (AttrDescriptor, 88)     |
 *   +-------+-------+-------+-------+-------+-------+------------------------------------+
 *   nodeid:gen names the inode for the connection's lifetime; ent_vld/att_vld (u64 s) and
 *   ent_ns/att_ns (u32 ns) = how long the kernel may cache the name and the attributes.
 * </pre>
 */
final class EntryOutDescriptor {
    private EntryOutDescriptor() {
    }

    static final int LENGTH = 40 + AttrDescriptor.LENGTH;
    static final int NODEID_OFFSET = 0;
    static final int GENERATION_OFFSET = 8;
    static final int ENTRY_VALID_OFFSET = 16;
    static final int ATTR_VALID_OFFSET = 24;
    static final int ENTRY_VALID_NSEC_OFFSET = 32;
    static final int ATTR_VALID_NSEC_OFFSET = 36;
    static final int ATTR_OFFSET = 40;
}
