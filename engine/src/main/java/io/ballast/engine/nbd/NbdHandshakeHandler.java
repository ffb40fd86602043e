package io.ballast.engine.nbd;

import static io.ballast.engine.nbd.NbdConstants.*;

import io.ballast.engine.volume.BlockVolume;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fixed-newstyle option haggling: sends the greeting, checks the client flags, answers options,
 * and on a successful NBD_OPT_GO / NBD_OPT_EXPORT_NAME replaces itself with a
 * {@link NbdTransmissionHandler} and switches the {@link NbdFrameDecoder} to requests.
 *
 * <p>Supported: EXPORT_NAME, ABORT, LIST, INFO, GO, and STARTTLS on a connection that requires
 * TLS ({@link NbdTlsUpgrade}): there, before TLS, every option but STARTTLS and ABORT is answered
 * NBD_REP_ERR_TLS_REQD and EXPORT_NAME (which has no error reply) ends the connection. Every other
 * option is answered NBD_REP_ERR_UNSUP (its payload was already read and is dropped). Unknown client flags, a
 * client without FIXED_NEWSTYLE, a bad option magic, an over-long option and an unknown export
 * in NBD_OPT_EXPORT_NAME (which has no error reply) end the connection.
 */
final class NbdHandshakeHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(NbdHandshakeHandler.class);

    private final NbdExports exports;
    private final NbdServerConfig config;
    private final NbdSession session;
    private final NbdFrameDecoder decoder;
    /** This connection's TLS upgrade, required before any export is named; null when not required. */
    private final NbdTlsUpgrade tls;
    private boolean noZeroes;

    NbdHandshakeHandler(NbdExports exports, NbdServerConfig config, NbdSession session, NbdFrameDecoder decoder,
            NbdTlsUpgrade tls) {
        this.exports = exports;
        this.config = config;
        this.session = session;
        this.decoder = decoder;
        this.tls = tls;
    }

    /** The transmission flags we advertise: only what we really implement. */
    static int transmissionFlags(BlockVolume volume, boolean readOnly) {
        int flags = FLAG_HAS_FLAGS | FLAG_SEND_FLUSH;
        flags |= readOnly ? FLAG_READ_ONLY : FLAG_SEND_FUA | FLAG_SEND_TRIM | FLAG_SEND_WRITE_ZEROES;
        if (volume.flushCoversAllConnections()) {
            flags |= FLAG_CAN_MULTI_CONN;
        }
        return flags;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        session.logOpened();
        ctx.writeAndFlush(HandshakeDescriptor.greeting(ctx.alloc()));
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        switch (msg) {
            case NbdFrame.ClientFlags f -> clientFlags(ctx, f.flags());
            case NbdFrame.Option o -> {
                try {
                    option(ctx, o);
                } finally {
                    o.release();
                }
                ctx.flush();
            }
            case NbdFrame.ProtocolError e -> session.protocolError(ctx, e.reason());
            default -> {
                ReferenceCountUtil.release(msg);
                session.protocolError(ctx, "unexpected " + msg.getClass().getSimpleName() + " during handshake");
            }
        }
    }

    private void clientFlags(ChannelHandlerContext ctx, int flags) {
        if ((flags & ~KNOWN_CLIENT_FLAGS) != 0) {
            decoder.stop();
            session.protocolError(ctx, "unknown client flags 0x" + Integer.toHexString(flags));
        } else if ((flags & FLAG_C_FIXED_NEWSTYLE) == 0) {
            decoder.stop();
            session.protocolError(ctx, "client does not speak fixed newstyle (flags 0x" + Integer.toHexString(flags)
                    + ")");
        } else {
            noZeroes = (flags & FLAG_C_NO_ZEROES) != 0;
        }
    }

    private void option(ChannelHandlerContext ctx, NbdFrame.Option o) {
        ByteBufAllocator alloc = ctx.alloc();
        int opt = o.option();
        if (tls != null && !tls.on()) {
            beforeTls(ctx, o);
            return;
        }
        switch (opt) {
            case OPT_EXPORT_NAME -> exportName(ctx, o);
            case OPT_ABORT -> abort(ctx);
            case OPT_LIST -> {
                if (o.data().isReadable()) {
                    ctx.write(OptionReplyDescriptor.error(alloc, opt, REP_ERR_INVALID, "NBD_OPT_LIST takes no data"));
                    return;
                }
                for (String name : exports.names()) {
                    ctx.write(OptionReplyDescriptor.server(alloc, name));
                }
                ctx.write(OptionReplyDescriptor.ack(alloc, opt));
            }
            case OPT_INFO, OPT_GO -> infoOrGo(ctx, o);
            case OPT_STARTTLS -> ctx.write(OptionReplyDescriptor.error(alloc, opt, tls == null ? REP_ERR_UNSUP : REP_ERR_INVALID,
                    tls == null ? "TLS is not offered on this connection" : "TLS is already on"));
            default -> {
                log.debug("NBD {}: unsupported option {}", session.describe(), optionName(opt));
                ctx.write(OptionReplyDescriptor.error(alloc, opt, REP_ERR_UNSUP,
                        "option " + optionName(opt) + " is not supported"));
            }
        }
    }

    /** NBD_OPT_ABORT: acknowledged, then the connection ends (any data sent with it is ignored, as the spec says). */
    private void abort(ChannelHandlerContext ctx) {
        decoder.stop();
        session.reason("client aborted the handshake");
        ctx.writeAndFlush(OptionReplyDescriptor.ack(ctx.alloc(), OPT_ABORT)).addListener(ChannelFutureListener.CLOSE);
    }

    /** An option on a connection that must upgrade to TLS first. */
    private void beforeTls(ChannelHandlerContext ctx, NbdFrame.Option o) {
        int opt = o.option();
        if (tls.pending()) {
            decoder.stop();
            session.protocolError(ctx, "option " + optionName(opt) + " sent during the TLS upgrade");
        } else if (opt == OPT_STARTTLS && o.data().isReadable()) {
            ctx.write(OptionReplyDescriptor.error(ctx.alloc(), opt, REP_ERR_INVALID, "NBD_OPT_STARTTLS takes no data"));
        } else if (opt == OPT_STARTTLS) {
            tls.start(ctx, OptionReplyDescriptor.ack(ctx.alloc(), opt));
        } else if (opt == OPT_ABORT) {
            abort(ctx);
        } else if (opt == OPT_EXPORT_NAME) {
            // No error reply exists for it: the spec says to disconnect.
            decoder.stop();
            session.protocolError(ctx, "NBD_OPT_EXPORT_NAME without TLS on a connection that requires it");
        } else {
            ctx.write(OptionReplyDescriptor.error(ctx.alloc(), opt, REP_ERR_TLS_REQD,
                    "this server requires TLS (NBD_OPT_STARTTLS with a certificate of the cluster's CA)"));
        }
    }

    private void exportName(ChannelHandlerContext ctx, NbdFrame.Option o) {
        String requested = o.data().readableBytes() > MAX_STRING_LENGTH ? null
                : o.data().toString(StandardCharsets.UTF_8);
        String name = requested == null ? null : exports.resolve(requested);
        BlockVolume volume = name == null ? null : exports.find(name);
        if (volume == null) {
            // NBD_OPT_EXPORT_NAME has no error reply: the spec mandates a hard disconnect.
            decoder.stop();
            session.protocolError(ctx, "NBD_OPT_EXPORT_NAME for unknown export '" + requested + "'");
            return;
        }
        boolean readOnly = exports.isReadOnly(name);
        int flags = transmissionFlags(volume, readOnly);
        ctx.write(HandshakeDescriptor.exportNameReply(ctx.alloc(), volume.size(), flags, noZeroes));
        enterTransmission(ctx, name, volume, readOnly, flags);
    }

    private void infoOrGo(ChannelHandlerContext ctx, NbdFrame.Option o) {
        ByteBufAllocator alloc = ctx.alloc();
        int opt = o.option();
        OptionDescriptor.InfoRequest request = OptionDescriptor.parseInfoRequest(o.data());
        if (request == null) {
            log.warn("NBD {}: malformed {} payload ({} bytes)", session.describe(), optionName(opt),
                    o.data().readableBytes());
            ctx.write(OptionReplyDescriptor.error(alloc, opt, REP_ERR_INVALID,
                    optionName(opt) + ": inconsistent lengths"));
            return;
        }
        String name = exports.resolve(request.name());
        BlockVolume volume = name == null ? null : exports.find(name);
        if (volume == null) {
            ctx.write(OptionReplyDescriptor.error(alloc, opt, REP_ERR_UNKNOWN,
                    request.name().isEmpty() ? "no default export" : "unknown export '" + request.name() + "'"));
            return;
        }
        boolean readOnly = exports.isReadOnly(name);
        int flags = transmissionFlags(volume, readOnly);
        ctx.write(InfoReplyDescriptor.export(alloc, opt, volume.size(), flags));
        if (request.wants(INFO_NAME)) {
            ctx.write(InfoReplyDescriptor.string(alloc, opt, INFO_NAME, name));
        }
        String description = exports.description(name);
        if (request.wants(INFO_DESCRIPTION) && description != null) {
            ctx.write(InfoReplyDescriptor.string(alloc, opt, INFO_DESCRIPTION, description));
        }
        // Always sent (the spec allows unrequested info); these are the default constraints anyway.
        ctx.write(InfoReplyDescriptor.blockSize(alloc, opt, 1, preferredBlockSize(volume), config.maxPayload()));
        ctx.write(OptionReplyDescriptor.ack(alloc, opt));
        if (opt == OPT_GO) {
            enterTransmission(ctx, name, volume, readOnly, flags);
        }
    }

    private int preferredBlockSize(BlockVolume volume) {
        int b = volume.blockSize();
        boolean usable = b >= 512 && Integer.bitCount(b) == 1 && b <= config.maxPayload();
        return usable ? b : DEFAULT_PREFERRED_BLOCK;
    }

    private void enterTransmission(ChannelHandlerContext ctx, String name, BlockVolume volume, boolean readOnly,
                                   int flags) {
        session.export(name);
        decoder.enterTransmission(new RequestValidator(volume, readOnly, config.maxPayload()));
        ctx.flush();
        ctx.pipeline().replace(this, "nbd-transmission", new NbdTransmissionHandler(session, decoder, volume, config));
        log.info("NBD connection {} uses export '{}' (size {}, flags 0x{}{})", session.describe(), name,
                volume.size(), Integer.toHexString(flags), readOnly ? ", read-only" : "");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        session.exceptionCaught(ctx, cause);
    }
}
