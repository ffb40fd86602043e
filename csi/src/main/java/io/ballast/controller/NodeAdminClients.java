package io.ballast.controller;

import io.ballast.node.admin.GrpcErrors;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Channels to the storage nodes' admin APIs, one per address, kept open; every call has a
 * deadline and its gRPC failure comes back as a domain error ({@link GrpcErrors#toDomain}).
 * Threading: thread-safe.
 */
public final class NodeAdminClients implements AutoCloseable {
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    /**
     * Calls {@code node}'s admin API at {@code address} with a deadline; {@code what} names the
     * call in errors (e.g. "create volume v1 on n2").
     */
    public <T> T call(String address, Duration deadline, String what,
            Function<NodeAdminGrpc.NodeAdminBlockingStub, T> call) {
        ManagedChannel ch = channels.computeIfAbsent(address,
                a -> NettyChannelBuilder.forTarget(a).usePlaintext().build());
        try {
            return call.apply(NodeAdminGrpc.newBlockingStub(ch).withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS));
        } catch (StatusRuntimeException e) {
            throw GrpcErrors.toDomain(e, what);
        }
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
    }
}
