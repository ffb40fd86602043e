package io.ballast.engine.nbd;

import io.netty.buffer.ByteBuf;

/**
 * A transmission-phase request (C -> S).
 *
 * <pre>
 *   0       4   6   8               16              24      28
 *   +-------+---+---+---------------+---------------+-------+=================+
 *   | magic |flg|typ|    cookie     |    offset     | length| payload (WRITE) |
 *   +-------+---+---+---------------+---------------+-------+=================+
 *   magic = 0x25609513; flg = NBD_CMD_FLAG_*; typ = NBD_CMD_*; cookie echoed in the reply;
 *   offset u64, length u32 (both unsigned). Only NBD_CMD_WRITE carries length bytes of payload.
 * </pre>
 */
final class RequestDescriptor {
    private RequestDescriptor() {
    }

    static final int LENGTH = 28;
    static final int MAGIC_OFFSET = 0;
    static final int FLAGS_OFFSET = 4;
    static final int TYPE_OFFSET = 6;
    static final int COOKIE_OFFSET = 8;
    static final int OFFSET_OFFSET = 16;
    static final int LENGTH_OFFSET = 24;

    static int magic(ByteBuf buf, int base) {
        return buf.getInt(base + MAGIC_OFFSET);
    }

    static int flags(ByteBuf buf, int base) {
        return buf.getUnsignedShort(base + FLAGS_OFFSET);
    }

    static int type(ByteBuf buf, int base) {
        return buf.getUnsignedShort(base + TYPE_OFFSET);
    }

    static long cookie(ByteBuf buf, int base) {
        return buf.getLong(base + COOKIE_OFFSET);
    }

    /** The offset as sent: an unsigned 64-bit value, negative here when above {@code Long.MAX_VALUE}. */
    static long offset(ByteBuf buf, int base) {
        return buf.getLong(base + OFFSET_OFFSET);
    }

    static long length(ByteBuf buf, int base) {
        return buf.getUnsignedInt(base + LENGTH_OFFSET);
    }
}
