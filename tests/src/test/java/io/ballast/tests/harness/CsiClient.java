package io.ballast.tests.harness;

import io.ballast.proto.csi.v1.ControllerGrpc;
import io.ballast.proto.csi.v1.IdentityGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** A CSI client on a unix socket, as the Kubernetes sidecars connect: Identity and Controller stubs. */
public final class CsiClient implements AutoCloseable {
    private final EventLoopGroup group = new EpollEventLoopGroup(1);
    private final ManagedChannel channel;

    public CsiClient(Path socket) {
        channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toFile()))
                .eventLoopGroup(group).channelType(EpollDomainSocketChannel.class).usePlaintext().build();
    }

    /** Controller stub with a deadline (clones and repairs take a while). */
    public ControllerGrpc.ControllerBlockingStub controller(int seconds) {
        return ControllerGrpc.newBlockingStub(channel).withDeadlineAfter(seconds, TimeUnit.SECONDS);
    }

    public ControllerGrpc.ControllerBlockingStub controller() {
        return controller(120);
    }

    /** Node stub with a deadline (staging formats a filesystem). */
    public io.ballast.proto.csi.v1.NodeGrpc.NodeBlockingStub node() {
        return io.ballast.proto.csi.v1.NodeGrpc.newBlockingStub(channel).withDeadlineAfter(300, TimeUnit.SECONDS);
    }

    public IdentityGrpc.IdentityBlockingStub identity() {
        return IdentityGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        channel.shutdownNow();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
