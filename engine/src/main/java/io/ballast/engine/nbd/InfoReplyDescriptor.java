package io.ballast.engine.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * The data of NBD_REP_INFO replies to NBD_OPT_INFO / NBD_OPT_GO; each follows an
 * {@link OptionReplyDescriptor} header of type NBD_REP_INFO.
 *
 * <pre>
 * NBD_INFO_EXPORT (12 bytes):
 *   0    2               10   12
 *   +----+---------------+----+
 *   | 0  |  export size  |tflg|
 *   +----+---------------+----+
 *
 * NBD_INFO_NAME / NBD_INFO_DESCRIPTION (2 + n bytes):
 *   0    2
 *   +----+==============+
 *   |1/2 | string (n B) |
 *   +----+==============+
 *
 * NBD_INFO_BLOCK_SIZE (14 bytes):
 *   0    2       6       10      14
 *   +----+-------+-------+-------+
 *   | 3  |  min  | pref  |  max  |   min 1, preferred 4096, max = max payload
 *   +----+-------+-------+-------+
 * </pre>
 */
final class InfoReplyDescriptor {
    private InfoReplyDescriptor() {
    }

    static final int TYPE_OFFSET = 0;
    static final int EXPORT_LENGTH = 12;
    static final int EXPORT_SIZE_OFFSET = 2;
    static final int EXPORT_FLAGS_OFFSET = 10;
    static final int BLOCK_SIZE_LENGTH = 14;
    static final int BLOCK_MIN_OFFSET = 2;
    static final int BLOCK_PREFERRED_OFFSET = 6;
    static final int BLOCK_MAX_OFFSET = 10;
    static final int STRING_OFFSET = 2;

    static ByteBuf export(ByteBufAllocator alloc, int option, long size, int transmissionFlags) {
        return OptionReplyDescriptor.header(alloc, option, NbdConstants.REP_INFO, EXPORT_LENGTH)
                .writeShort(NbdConstants.INFO_EXPORT)
                .writeLong(size)
                .writeShort(transmissionFlags);
    }

    static ByteBuf blockSize(ByteBufAllocator alloc, int option, int min, int preferred, int max) {
        return OptionReplyDescriptor.header(alloc, option, NbdConstants.REP_INFO, BLOCK_SIZE_LENGTH)
                .writeShort(NbdConstants.INFO_BLOCK_SIZE)
                .writeInt(min)
                .writeInt(preferred)
                .writeInt(max);
    }

    /** NBD_INFO_NAME or NBD_INFO_DESCRIPTION. */
    static ByteBuf string(ByteBufAllocator alloc, int option, int infoType, String value) {
        byte[] text = value.getBytes(StandardCharsets.UTF_8);
        int n = Math.min(text.length, NbdConstants.MAX_STRING_LENGTH);
        return OptionReplyDescriptor.header(alloc, option, NbdConstants.REP_INFO, STRING_OFFSET + n)
                .writeShort(infoType)
                .writeBytes(text, 0, n);
    }
}
