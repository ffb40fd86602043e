package io.ballast.engine.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The fixed-newstyle handshake records that are not option replies.
 *
 * <pre>
 * Server greeting (18 bytes, S -> C):
 *   0               8               16   18
 *   +---------------+---------------+----+
 *   |   NBDMAGIC    |   IHAVEOPT    |flgs|   flags: FIXED_NEWSTYLE | NO_ZEROES
 *   +---------------+---------------+----+
 *
 * Client flags (4 bytes, C -> S):
 *   0       4
 *   +-------+
 *   | flags |   FIXED_NEWSTYLE | NO_ZEROES; anything else -> hard disconnect
 *   +-------+
 *
 * NBD_OPT_EXPORT_NAME reply (10 or 134 bytes, S -> C):
 *   0               8    10                    134
 *   +---------------+----+---------------------+
 *   |  export size  |tflg| 124 zero bytes      |   zeroes omitted if client set NO_ZEROES
 *   +---------------+----+---------------------+
 * </pre>
 * All integers big-endian (network order), as everywhere in NBD.
 */
final class HandshakeDescriptor {
    private HandshakeDescriptor() {
    }

    static final int GREETING_LENGTH = 18;
    static final int GREETING_NBDMAGIC_OFFSET = 0;
    static final int GREETING_IHAVEOPT_OFFSET = 8;
    static final int GREETING_FLAGS_OFFSET = 16;

    static final int CLIENT_FLAGS_LENGTH = 4;

    static final int EXPORT_SIZE_OFFSET = 0;
    static final int EXPORT_FLAGS_OFFSET = 8;
    static final int EXPORT_REPLY_LENGTH = 10;
    static final int EXPORT_REPLY_ZEROES = 124;

    /** The handshake flags this server sends. */
    static final int SERVER_FLAGS = NbdConstants.FLAG_FIXED_NEWSTYLE | NbdConstants.FLAG_NO_ZEROES;

    static ByteBuf greeting(ByteBufAllocator alloc) {
        ByteBuf buf = alloc.buffer(GREETING_LENGTH);
        buf.writeLong(NbdConstants.NBDMAGIC);
        buf.writeLong(NbdConstants.IHAVEOPT);
        buf.writeShort(SERVER_FLAGS);
        return buf;
    }

    static ByteBuf exportNameReply(ByteBufAllocator alloc, long size, int transmissionFlags, boolean noZeroes) {
        int length = EXPORT_REPLY_LENGTH + (noZeroes ? 0 : EXPORT_REPLY_ZEROES);
        ByteBuf buf = alloc.buffer(length);
        buf.writeLong(size);
        buf.writeShort(transmissionFlags);
        if (!noZeroes) {
            buf.writeZero(EXPORT_REPLY_ZEROES);
        }
        return buf;
    }
}
