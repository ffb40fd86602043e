package io.ballast.engine.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Turns the client's byte stream into {@link NbdFrame}s, for both protocol phases, as an explicit
 * state machine. Never throws on bad input: a stream it cannot frame yields one
 * {@link NbdFrame.ProtocolError} and the decoder then swallows everything ({@link State#CLOSED})
 * while the handler drops the connection.
 *
 * <p>Emits at most one frame per {@code decode} call. {@link ByteToMessageDecoder} delivers each
 * frame to the next handler before decoding further bytes, so the handlers switch phases
 * ({@link #enterTransmission}, {@link #stop}) synchronously from their {@code channelRead} and the
 * next bytes are framed in the new phase. Event-loop confined, like every handler.
 *
 * <p>Memory: option payloads are bounded by {@link NbdConstants#MAX_OPTION_LENGTH}; a WRITE
 * payload is allocated (pooled, direct, exact size) only after its header passed the
 * {@link RequestValidator}, so a rejected or oversized WRITE never allocates its payload.
 */
final class NbdFrameDecoder extends ByteToMessageDecoder {

    enum State {
        /** Waiting for the client's 4-byte flags. */
        CLIENT_FLAGS,
        /** Waiting for a 16-byte option header. */
        OPTION_HEADER,
        /** Waiting for the current option's data. */
        OPTION_PAYLOAD,
        /** Waiting for a 28-byte request header. */
        REQUEST_HEADER,
        /** Copying the current WRITE's payload into its own buffer. */
        WRITE_PAYLOAD,
        /** Skipping the payload of a rejected WRITE. */
        DISCARD_PAYLOAD,
        /** Ignoring all input: protocol error, abort, disconnect or fatal request. */
        CLOSED
    }

    private State state = State.CLIENT_FLAGS;
    private RequestValidator validator;
    private int option;
    private int optionLength;
    private long discardRemaining;
    /** The WRITE whose payload is being copied (payload owned by this decoder until emitted). */
    private NbdFrame.Request pendingWrite;

    State state() {
        return state;
    }

    /** Handshake done: from now on frame requests, validated by {@code validator}. */
    void enterTransmission(RequestValidator requestValidator) {
        if (state != State.OPTION_HEADER) {
            throw new IllegalStateException("enterTransmission in " + state);
        }
        this.validator = requestValidator;
        this.state = State.REQUEST_HEADER;
    }

    /** Ignore all further input (the connection is closing). */
    void stop() {
        state = State.CLOSED;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        switch (state) {
            case CLIENT_FLAGS -> {
                if (in.readableBytes() >= HandshakeDescriptor.CLIENT_FLAGS_LENGTH) {
                    out.add(new NbdFrame.ClientFlags(in.readInt()));
                    state = State.OPTION_HEADER;
                }
            }
            case OPTION_HEADER -> decodeOptionHeader(in, out);
            case OPTION_PAYLOAD -> {
                if (in.readableBytes() >= optionLength) {
                    out.add(new NbdFrame.Option(option, in.readRetainedSlice(optionLength)));
                    state = State.OPTION_HEADER;
                }
            }
            case REQUEST_HEADER -> decodeRequestHeader(ctx, in, out);
            case WRITE_PAYLOAD -> {
                ByteBuf payload = pendingWrite.payload();
                int n = Math.min(in.readableBytes(), payload.writableBytes());
                payload.writeBytes(in, n);
                if (!payload.isWritable()) {
                    out.add(pendingWrite);
                    pendingWrite = null;
                    state = State.REQUEST_HEADER;
                }
            }
            case DISCARD_PAYLOAD -> {
                int n = (int) Math.min(in.readableBytes(), discardRemaining);
                in.skipBytes(n);
                discardRemaining -= n;
                if (discardRemaining == 0) {
                    state = State.REQUEST_HEADER;
                }
            }
            case CLOSED -> in.skipBytes(in.readableBytes());
            default -> throw new IllegalStateException(String.valueOf(state));
        }
    }

    private void decodeOptionHeader(ByteBuf in, List<Object> out) {
        if (in.readableBytes() < OptionDescriptor.HEADER_LENGTH) {
            return;
        }
        int base = in.readerIndex();
        long magic = in.getLong(base + OptionDescriptor.MAGIC_OFFSET);
        int opt = in.getInt(base + OptionDescriptor.OPTION_OFFSET);
        long length = in.getUnsignedInt(base + OptionDescriptor.LENGTH_OFFSET);
        in.skipBytes(OptionDescriptor.HEADER_LENGTH);
        if (magic != NbdConstants.IHAVEOPT) {
            fail(out, "bad option magic 0x" + Long.toHexString(magic) + " (request before handshake finished?)");
        } else if (length > NbdConstants.MAX_OPTION_LENGTH) {
            fail(out, "option " + NbdConstants.optionName(opt) + " length " + length + " exceeds "
                    + NbdConstants.MAX_OPTION_LENGTH);
        } else if (length == 0) {
            out.add(new NbdFrame.Option(opt, Unpooled.EMPTY_BUFFER));
        } else {
            option = opt;
            optionLength = (int) length;
            state = State.OPTION_PAYLOAD;
        }
    }

    private void decodeRequestHeader(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < RequestDescriptor.LENGTH) {
            return;
        }
        int base = in.readerIndex();
        int magic = RequestDescriptor.magic(in, base);
        int flags = RequestDescriptor.flags(in, base);
        int type = RequestDescriptor.type(in, base);
        long cookie = RequestDescriptor.cookie(in, base);
        long offset = RequestDescriptor.offset(in, base);
        long length = RequestDescriptor.length(in, base);
        in.skipBytes(RequestDescriptor.LENGTH);
        if (magic != NbdConstants.REQUEST_MAGIC) {
            fail(out, "bad request magic 0x" + Integer.toHexString(magic));
            return;
        }
        if (validator.isOversizedWrite(type, length)) {
            // We cannot trust the client to send (or us to buffer) the payload: reply, then hang up.
            out.add(new NbdFrame.Request(flags, type, cookie, offset, length, null, NbdConstants.EINVAL, true));
            state = State.CLOSED;
            return;
        }
        int error = validator.check(flags, type, offset, length);
        if (type != NbdConstants.CMD_WRITE || length == 0) {
            ByteBuf payload = type == NbdConstants.CMD_WRITE && error == 0 ? Unpooled.EMPTY_BUFFER : null;
            out.add(new NbdFrame.Request(flags, type, cookie, offset, length, payload, error, false));
        } else if (error != 0) {
            out.add(new NbdFrame.Request(flags, type, cookie, offset, length, null, error, false));
            discardRemaining = length;
            state = State.DISCARD_PAYLOAD;
        } else {
            ByteBuf payload = ctx.alloc().directBuffer((int) length, (int) length);
            pendingWrite = new NbdFrame.Request(flags, type, cookie, offset, length, payload, 0, false);
            state = State.WRITE_PAYLOAD;
        }
    }

    private void fail(List<Object> out, String reason) {
        out.add(new NbdFrame.ProtocolError(reason));
        state = State.CLOSED;
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        super.decodeLast(ctx, in, out);
        // Peer closed mid-frame: whatever was partially received is dropped, nothing is applied.
        releasePending();
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        releasePending();
    }

    private void releasePending() {
        if (pendingWrite != null) {
            pendingWrite.release();
            pendingWrite = null;
        }
    }
}
