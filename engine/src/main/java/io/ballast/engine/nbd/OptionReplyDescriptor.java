package io.ballast.engine.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * A fixed-newstyle option reply (S -> C), sent for every option except NBD_OPT_EXPORT_NAME.
 *
 * <pre>
 *   0               8       12      16      20
 *   +---------------+-------+-------+-------+=============+
 *   | REPLY_MAGIC   |option | type  | length| data ...    |
 *   +---------------+-------+-------+-------+=============+
 *   REPLY_MAGIC = 0x0003e889045565a9; option echoes the client's; type = NBD_REP_*.
 *   Error types (bit 31 set) may carry a UTF-8 message as data.
 *
 * NBD_REP_SERVER data:
 *   0       4
 *   +-------+==============+
 *   | n     | name (n B)   |
 *   +-------+==============+
 * </pre>
 */
final class OptionReplyDescriptor {
    private OptionReplyDescriptor() {
    }

    static final int HEADER_LENGTH = 20;
    static final int MAGIC_OFFSET = 0;
    static final int OPTION_OFFSET = 8;
    static final int TYPE_OFFSET = 12;
    static final int LENGTH_OFFSET = 16;

    /** Writes a header announcing {@code dataLength} bytes of data that the caller appends. */
    static ByteBuf header(ByteBufAllocator alloc, int option, int type, int dataLength) {
        ByteBuf buf = alloc.buffer(HEADER_LENGTH + dataLength);
        buf.writeLong(NbdConstants.OPTION_REPLY_MAGIC);
        buf.writeInt(option);
        buf.writeInt(type);
        buf.writeInt(dataLength);
        return buf;
    }

    static ByteBuf ack(ByteBufAllocator alloc, int option) {
        return header(alloc, option, NbdConstants.REP_ACK, 0);
    }

    /** An error reply with a human-readable message (truncated to the spec's string limit). */
    static ByteBuf error(ByteBufAllocator alloc, int option, int type, String message) {
        byte[] text = message.getBytes(StandardCharsets.UTF_8);
        int n = Math.min(text.length, NbdConstants.MAX_STRING_LENGTH);
        return header(alloc, option, type, n).writeBytes(text, 0, n);
    }

    static ByteBuf server(ByteBufAllocator alloc, String exportName) {
        byte[] name = exportName.getBytes(StandardCharsets.UTF_8);
        ByteBuf buf = header(alloc, NbdConstants.OPT_LIST, NbdConstants.REP_SERVER, 4 + name.length);
        return buf.writeInt(name.length).writeBytes(name);
    }
}
