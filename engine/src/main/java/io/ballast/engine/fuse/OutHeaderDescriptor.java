package io.ballast.engine.fuse;

import java.nio.ByteBuffer;

/**
 * {@code struct fuse_out_header}: the start of every reply and notification (us -> kernel).
 *
 * <pre>
 *   0       4       8               16
 *   +-------+-------+---------------+==================+
 *   |  len  | error |    unique     | reply body...    |
 *   +-------+-------+---------------+==================+
 *   len = header + body bytes, written in one write(2); error = 0 or -errno (an error reply
 *   has no body); unique = the request's. A notification has unique = 0 and error = the
 *   positive FUSE_NOTIFY_* code.
 * </pre>
 */
final class OutHeaderDescriptor {
    private OutHeaderDescriptor() {
    }

    static final int LENGTH = 16;
    static final int LEN_OFFSET = 0;
    static final int ERROR_OFFSET = 4;
    static final int UNIQUE_OFFSET = 8;

    static void put(ByteBuffer b, int totalLength, int error, long unique) {
        b.putInt(LEN_OFFSET, totalLength);
        b.putInt(ERROR_OFFSET, error);
        b.putLong(UNIQUE_OFFSET, unique);
    }
}
