package io.ballast.engine.fuse;

/**
 * {@code struct fuse_dirent}: one entry in a READDIR reply; entries follow each other, each
 * padded to 8 bytes.
 *
 * <pre>
 *   0               8               16      20      24
 *   +---------------+---------------+-------+-------+==================+
 *   |      ino      |      off      |namelen| type  | name, 0-padded   |
 *   +---------------+---------------+-------+-------+==================+
 *   off = the cookie of the next entry (the kernel passes it back as READDIR's offset);
 *   type = DT_* (d_type); name is not 0-terminated.
 * </pre>
 */
final class DirentDescriptor {
    private DirentDescriptor() {
    }

    static final int HEADER_LENGTH = 24;
    static final int INO_OFFSET = 0;
    static final int OFF_OFFSET = 8;
    static final int NAMELEN_OFFSET = 16;
    static final int TYPE_OFFSET = 20;
    static final int NAME_OFFSET = 24;

    /** Bytes one entry with a {@code nameLength}-byte name occupies, padding included. */
    static int size(int nameLength) {
        return (HEADER_LENGTH + nameLength + 7) & ~7;
    }
}
