package io.ballast.engine.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;

/**
 * What {@link NbdFrameDecoder} hands to the handlers: one value per wire record, or a
 * {@link ProtocolError} when the bytes cannot be framed (the connection is then dropped). Values
 * holding a {@link ByteBuf} transfer its ownership to the receiver, which releases it once.
 */
sealed interface NbdFrame {

    /** The client's 32-bit flags after the server greeting. */
    record ClientFlags(int flags) implements NbdFrame {
    }

    /** One option request; {@code data} is owned by the receiver. */
    record Option(int option, ByteBuf data) implements NbdFrame {
        void release() {
            ReferenceCountUtil.release(data);
        }
    }

    /**
     * One transmission request.
     *
     * @param offset  unsigned 64-bit offset as sent (negative here means above 2^63)
     * @param length  unsigned 32-bit length as sent
     * @param payload the WRITE payload (owned by the receiver), or null: not a WRITE, or rejected
     * @param error   0, or the NBD error to reply without executing the request
     * @param fatal   reply {@code error}, then disconnect (payload too large to read safely)
     */
    record Request(int flags, int type, long cookie, long offset, long length, ByteBuf payload, int error,
                   boolean fatal) implements NbdFrame {
        boolean fua() {
            return (flags & NbdConstants.CMD_FLAG_FUA) != 0;
        }

        void release() {
            if (payload != null) {
                ReferenceCountUtil.release(payload);
            }
        }

        @Override
        public String toString() {
            return NbdConstants.commandName(type) + "{cookie=" + Long.toHexString(cookie) + ", offset="
                    + Long.toUnsignedString(offset) + ", length=" + length + ", flags=" + flags + ", error=" + error
                    + (fatal ? ", fatal" : "") + "}";
        }
    }

    /** The stream is malformed beyond repair; {@code reason} is for the log. */
    record ProtocolError(String reason) implements NbdFrame {
    }
}
