package io.ballast.engine.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * A simple reply (S -> C); the only reply form we send (no structured replies negotiated).
 *
 * <pre>
 *   0       4       8               16
 *   +-------+-------+---------------+===================================+
 *   | magic | error |    cookie     | data (successful NBD_CMD_READ)    |
 *   +-------+-------+---------------+===================================+
 *   magic = 0x67446698; error = 0 or an NBD error value; cookie as in the request.
 *   A READ reply with error != 0 carries no data.
 * </pre>
 */
final class SimpleReplyDescriptor {
    private SimpleReplyDescriptor() {
    }

    static final int LENGTH = 16;
    static final int MAGIC_OFFSET = 0;
    static final int ERROR_OFFSET = 4;
    static final int COOKIE_OFFSET = 8;

    static ByteBuf encode(ByteBufAllocator alloc, int error, long cookie) {
        return alloc.directBuffer(LENGTH)
                .writeInt(NbdConstants.SIMPLE_REPLY_MAGIC)
                .writeInt(error)
                .writeLong(cookie);
    }
}
