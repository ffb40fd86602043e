package io.ballast.engine.nbd;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An NBD server (fixed newstyle handshake, simple replies) exporting {@link NbdExports} over a unix
 * socket and/or TCP, on Netty (epoll where available; the unix socket requires it).
 *
 * <p>Lifecycle: construct, {@link #start()} once, {@link #close()} once (idempotent). {@code close}
 * stops accepting, closes every connection (in-flight replies are dropped; the client sees a hard
 * disconnect, as on a server crash) and removes the unix socket file. Volumes are not closed: they
 * belong to the caller.
 *
 * <p>Thread-safe: stats methods may be called from any thread at any time.
 */
public final class NbdServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NbdServer.class);
    /** S_IFMT / S_IFSOCK from stat(2), to recognize a socket file before deleting it. */
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private final NbdExports exports;
    private final NbdServerConfig config;
    private final NbdCounters counters = new NbdCounters(null);
    private final Map<Long, NbdSession> sessions = new ConcurrentHashMap<>();
    private final List<Channel> listeners = new ArrayList<>();
    private EventLoopGroup group;
    private int tcpPort = -1;
    private boolean started;
    private boolean closed;

    public NbdServer(NbdExports exports, NbdServerConfig config) {
        this.exports = exports;
        this.config = config;
    }

    /**
     * Binds the configured listeners.
     *
     * @throws BallastException FAILED_PRECONDITION when a unix socket is asked for without epoll, or a
     *                          live server already listens on it; IO_ERROR when binding fails
     */
    public synchronized void start() {
        if (started) {
            throw new IllegalStateException("NbdServer already started");
        }
        started = true;
        boolean epoll = Epoll.isAvailable();
        if (config.unixSocket() != null && !epoll) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION,
                    "NBD unix socket needs native epoll: " + Epoll.unavailabilityCause());
        }
        group = new MultiThreadIoEventLoopGroup(config.workerThreads(),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        try {
            NbdConnectionInitializer initializer = new NbdConnectionInitializer(exports, config, counters, sessions);
            if (config.unixSocket() != null) {
                Path socket = config.unixSocket().toAbsolutePath();
                removeStaleSocket(socket);
                listeners.add(bootstrap(initializer).channel(EpollServerDomainSocketChannel.class)
                        .bind(new DomainSocketAddress(socket.toString())).sync().channel());
                log.info("NBD server listening on unix socket {}", socket);
            }
            if (config.tcpPort() != null) {
                InetSocketAddress address = config.tcpHost() == null ? new InetSocketAddress(config.tcpPort())
                        : new InetSocketAddress(config.tcpHost(), config.tcpPort());
                Channel ch = bootstrap(initializer)
                        .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                        .childOption(ChannelOption.TCP_NODELAY, true)
                        .bind(address).sync().channel();
                listeners.add(ch);
                tcpPort = ((InetSocketAddress) ch.localAddress()).getPort();
                log.info("NBD server listening on TCP {}", ch.localAddress());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new BallastException(ErrorCode.UNAVAILABLE, "interrupted while binding the NBD server", e);
        } catch (RuntimeException e) {
            close();
            throw e instanceof BallastException be ? be
                    : new BallastException(ErrorCode.IO_ERROR, "cannot bind NBD server: " + e, e);
        }
    }

    private ServerBootstrap bootstrap(NbdConnectionInitializer initializer) {
        return new ServerBootstrap().group(group).childHandler(initializer);
    }

    /** Deletes a socket file nobody listens on; refuses to touch a live socket or a non-socket file. */
    private static void removeStaleSocket(Path socket) {
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            int mode = (Integer) Files.getAttribute(socket, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            if ((mode & S_IFMT) != S_IFSOCK) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION,
                        "NBD socket path exists and is not a socket: " + socket);
            }
            try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                probe.connect(UnixDomainSocketAddress.of(socket));
                throw new BallastException(ErrorCode.FAILED_PRECONDITION,
                        "another NBD server is listening on " + socket);
            } catch (IOException refused) {
                log.info("Removing stale NBD socket {} ({})", socket, refused.getMessage());
                Files.delete(socket);
            }
        } catch (IOException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot inspect NBD socket " + socket + ": " + e, e);
        }
    }

    /** The bound TCP port (useful with port 0). */
    public synchronized int tcpPort() {
        if (tcpPort < 0) {
            throw new IllegalStateException("NBD server has no bound TCP listener");
        }
        return tcpPort;
    }

    /** Totals over every connection since start. */
    public NbdStats stats() {
        return counters.snapshot();
    }

    /** Open connections' counters, keyed by a description ("#id remote export"). */
    public Map<String, NbdStats> connectionStats() {
        Map<String, NbdStats> result = new LinkedHashMap<>();
        sessions.values().forEach(s -> result.put(s.describe(), s.counters().snapshot()));
        return result;
    }

    public int openConnections() {
        return sessions.size();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Channel ch : listeners) {
            ch.close().syncUninterruptibly();
        }
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (config.unixSocket() != null && !listeners.isEmpty()) {
            try {
                Files.deleteIfExists(config.unixSocket());
            } catch (IOException e) {
                log.warn("Cannot remove NBD socket {}: {}", config.unixSocket(), e.toString());
            }
        }
        log.info("NBD server closed; {}", counters.snapshot());
    }
}
