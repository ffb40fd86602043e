package io.ballast.csi.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.csi.controller.ControllerService;
import io.ballast.csi.controller.InMemoryClusterBackend;
import io.ballast.csi.identity.IdentityService;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.csi.v1.ControllerGetCapabilitiesRequest;
import io.ballast.proto.csi.v1.ControllerGrpc;
import io.ballast.proto.csi.v1.GetPluginInfoRequest;
import io.ballast.proto.csi.v1.IdentityGrpc;
import io.ballast.proto.csi.v1.ProbeRequest;
import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CsiServer on a real unix socket, called through Netty's epoll domain-socket client. */
class CsiServerTest {
    @TempDir
    Path dir;

    private final InMemoryClusterBackend backend = new InMemoryClusterBackend();

    private List<BindableService> services() {
        return List.of(IdentityService.forController(backend), new ControllerService(backend, "c1"));
    }

    /** Calls Probe, GetPluginInfo and ControllerGetCapabilities through the socket. */
    private static void callThrough(Path socket) throws InterruptedException {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollDomainSocketChannel.class).eventLoopGroup(group).usePlaintext().build();
        try {
            var identity = IdentityGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
            assertTrue(identity.probe(ProbeRequest.getDefaultInstance()).getReady().getValue());
            assertEquals("ballast.csi.io", identity.getPluginInfo(GetPluginInfoRequest.getDefaultInstance()).getName());
            assertEquals(14, ControllerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .controllerGetCapabilities(ControllerGetCapabilitiesRequest.getDefaultInstance()).getCapabilitiesCount());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void servesIdentityAndControllerOnAUnixSocketAndRemovesItOnClose() throws Exception {
        Path socket = dir.resolve("plugin/csi.sock");
        try (CsiServer server = CsiServer.start("unix://" + socket, services())) {
            assertEquals(socket, server.socket());
            assertTrue(Files.exists(socket));
            callThrough(socket);
        }
        assertFalse(Files.exists(socket));
    }

    @Test
    void aStaleSocketFileIsReplaced() throws Exception {
        Path socket = dir.resolve("csi.sock");
        try (ServerSocketChannel crashed = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            crashed.bind(UnixDomainSocketAddress.of(socket)); // closing leaves the file behind, as a crash does
        }
        assertTrue(Files.exists(socket));
        try (CsiServer server = CsiServer.start("unix:" + socket, services())) {
            callThrough(server.socket());
        }
    }

    @Test
    void aLiveSocketOrAFileThatIsNoSocketIsLeftAlone() throws Exception {
        Path live = dir.resolve("live.sock");
        try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            other.bind(UnixDomainSocketAddress.of(live));
            var e = assertThrows(BallastException.class, () -> CsiServer.start("unix://" + live, services()));
            assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
            assertTrue(Files.exists(live));
        }
        Path file = Files.writeString(dir.resolve("notes.txt"), "keep me");
        var e = assertThrows(BallastException.class, () -> CsiServer.start("unix://" + file, services()));
        assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
        assertEquals("keep me", Files.readString(file));
    }

    @Test
    void endpointsMustBeUnixSocketPaths() {
        assertEquals(Path.of("/csi/csi.sock"), CsiServer.socketPath("unix:///csi/csi.sock"));
        assertEquals(Path.of("/csi/csi.sock"), CsiServer.socketPath("unix:/csi/csi.sock"));
        for (String bad : List.of("/csi/csi.sock", "tcp://127.0.0.1:10000", "unix://csi.sock", "unix:csi.sock", "unix:///", "unix:///csi/", "")) {
            var e = assertThrows(BallastException.class, () -> CsiServer.socketPath(bad), bad);
            assertEquals(ErrorCode.INVALID_ARGUMENT, e.code(), bad);
        }
    }
}
