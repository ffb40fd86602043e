package io.ballast.csi.server;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC server the CO talks to: the given CSI services on a unix domain socket, every call logged
 * by {@link CallLogInterceptor}. Uses grpc-netty-shaded's epoll transport, the only one of gRPC's
 * Java transports that serves unix sockets.
 *
 * <p>At start a stale socket file (left by a crashed plugin) is removed; a socket some process still
 * answers on is not (two plugins on one socket is a deployment error), nor is anything that is not a
 * socket (the endpoint was mistyped). Event loops: one boss and one worker thread; handlers run on
 * gRPC's default executor, because backend calls block.
 *
 * <p>Thread-safe; {@link #close} is idempotent, waits up to 5 s for calls in flight, and removes the
 * socket file.
 */
public final class CsiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CsiServer.class);

    private final Path socket;
    private final Server server;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;

    private CsiServer(Path socket, Server server, EventLoopGroup boss, EventLoopGroup workers) {
        this.socket = socket;
        this.server = server;
        this.boss = boss;
        this.workers = workers;
    }

    /**
     * Starts serving {@code services} on {@code endpoint} ({@code unix:///path/csi.sock} or
     * {@code unix:/path/csi.sock}). INVALID_ARGUMENT for another endpoint form, FAILED_PRECONDITION
     * when the path is in use or is not a socket, UNAVAILABLE when epoll is missing, IO_ERROR when
     * binding fails.
     */
    public static CsiServer start(String endpoint, List<BindableService> services) {
        return start(endpoint, services, null);
    }

    /** As {@link #start(String, List)}, counting and timing every call in {@code metrics} (null: not). */
    public static CsiServer start(String endpoint, List<BindableService> services,
            io.prometheus.metrics.model.registry.PrometheusRegistry metrics) {
        Path socket = socketPath(endpoint);
        if (!Epoll.isAvailable()) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "unix socket transport needs Linux epoll: "
                    + Epoll.unavailabilityCause());
        }
        removeStale(socket);
        EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        EventLoopGroup workers = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollServerDomainSocketChannel.class).bossEventLoopGroup(boss).workerEventLoopGroup(workers);
        CallLogInterceptor log = new CallLogInterceptor();
        CallMetricsInterceptor counted = metrics == null ? null : new CallMetricsInterceptor(metrics);
        services.forEach(s -> builder.addService(counted == null ? ServerInterceptors.intercept(s, log)
                : ServerInterceptors.intercept(s, log, counted)));
        try {
            Server server = builder.build().start();
            // Only this process's user may connect (kubelet and the sidecars run as it, or as root).
            java.nio.file.Files.setPosixFilePermissions(socket, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            LOG.info("CSI services {} listening on unix://{}",
                    services.stream().map(s -> s.bindService().getServiceDescriptor().getName()).toList(), socket);
            return new CsiServer(socket, server, boss, workers);
        } catch (IOException | RuntimeException e) {
            boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw new BallastException(ErrorCode.IO_ERROR, "cannot serve on unix://" + socket + ": " + e.getMessage(), e);
        }
    }

    /** The socket path of a CSI endpoint; INVALID_ARGUMENT unless it is unix:///abs/path or unix:/abs/path. */
    public static Path socketPath(String endpoint) {
        String path = null;
        if (endpoint.startsWith("unix:///")) {
            path = endpoint.substring("unix://".length());
        } else if (endpoint.startsWith("unix:/") && !endpoint.startsWith("unix://")) {
            path = endpoint.substring("unix:".length());
        }
        if (path == null || path.length() < 2 || path.endsWith("/")) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "CSI endpoint '" + endpoint
                    + "' must be a unix socket path such as unix:///csi/csi.sock");
        }
        return Path.of(path).normalize();
    }

    public Path socket() {
        return socket;
    }

    /** Blocks until the server has terminated (after {@link #close} from another thread). */
    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public void close() {
        server.shutdown();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow().awaitTermination(1, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        } finally {
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            try {
                Files.deleteIfExists(socket);
            } catch (IOException e) {
                LOG.warn("cannot remove {}: {}", socket, e.getMessage());
            }
        }
    }

    /** Removes a socket file nobody answers on; refuses a live socket or a file that is not a socket. */
    private static void removeStale(Path socket) {
        try {
            Files.createDirectories(socket.getParent());
            if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            if (Files.isRegularFile(socket, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(socket, LinkOption.NOFOLLOW_LINKS)
                    || Files.isSymbolicLink(socket)) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, socket + " exists and is not a socket; "
                        + "refusing to replace it (check the CSI endpoint)");
            }
            if (answers(socket)) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "another process is serving on " + socket
                        + "; stop it first");
            }
            Files.delete(socket);
            LOG.info("removed stale socket {}", socket);
        } catch (IOException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot prepare " + socket + ": " + e.getMessage(), e);
        }
    }

    private static boolean answers(Path socket) {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return false; // ECONNREFUSED: the socket file outlived its server
        }
    }
}
