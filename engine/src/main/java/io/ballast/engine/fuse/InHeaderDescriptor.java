package io.ballast.engine.fuse;

import java.nio.ByteBuffer;

/**
 * {@code struct fuse_in_header}: the start of every request the kernel sends (kernel -> us).
 * All fields little-endian (host order on every platform we run on).
 *
 * <pre>
 *   0       4       8               16              24      28      32      36  38  40
 *   +-------+-------+---------------+---------------+-------+-------+-------+---+---+=========+
 *   |  len  |opcode |    unique     |    nodeid     |  uid  |  gid  |  pid  |ext|pad| body... |
 *   +-------+-------+---------------+---------------+-------+-------+-------+---+---+=========+
 *   len = header + body bytes (what read(2) returned); unique = request id echoed in the reply
 *   (0 only for notifications); nodeid = the inode the request is about (1 = root);
 *   ext = length of extensions after the body in 8-byte units (0 unless negotiated).
 * </pre>
 */
final class InHeaderDescriptor {
    private InHeaderDescriptor() {
    }

    static final int LENGTH = 40;
    static final int LEN_OFFSET = 0;
    static final int OPCODE_OFFSET = 4;
    static final int UNIQUE_OFFSET = 8;
    static final int NODEID_OFFSET = 16;
    static final int UID_OFFSET = 24;
    static final int GID_OFFSET = 28;
    static final int PID_OFFSET = 32;
    static final int TOTAL_EXTLEN_OFFSET = 36;

    static long len(ByteBuffer b) {
        return Integer.toUnsignedLong(b.getInt(LEN_OFFSET));
    }

    static int opcode(ByteBuffer b) {
        return b.getInt(OPCODE_OFFSET);
    }

    static long unique(ByteBuffer b) {
        return b.getLong(UNIQUE_OFFSET);
    }

    static long nodeId(ByteBuffer b) {
        return b.getLong(NODEID_OFFSET);
    }

    static int totalExtLen(ByteBuffer b) {
        return Short.toUnsignedInt(b.getShort(TOTAL_EXTLEN_OFFSET));
    }
}
