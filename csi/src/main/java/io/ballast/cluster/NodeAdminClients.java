package io.ballast.cluster;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.replication.tls.TlsMaterial;
import io.ballast.tls.GrpcTls;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Channels to the storage nodes' admin APIs, one per address, kept open; every call has a
 * deadline and its gRPC failure comes back as a domain error ({@link #toDomain}).
 * Threading: thread-safe.
 */
public final class NodeAdminClients implements AutoCloseable {
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
    private final TlsMaterial tls;

    /** Plaintext channels. */
    public NodeAdminClients() {
        this(null);
    }

    /** Channels with mutual TLS by {@code tls}'s certificates (null: plaintext). */
    public NodeAdminClients(TlsMaterial tls) {
        this.tls = tls;
    }

    /**
     * Calls {@code node}'s admin API at {@code address} with a deadline; {@code what} names the
     * call in errors (e.g. "create volume v1 on n2").
     */
    public <T> T call(String address, Duration deadline, String what,
            Function<NodeAdminGrpc.NodeAdminBlockingStub, T> call) {
        ManagedChannel ch = channels.computeIfAbsent(address,
                a -> GrpcTls.channel(a, tls));
        try {
            return call.apply(NodeAdminGrpc.newBlockingStub(ch).withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS));
        } catch (StatusRuntimeException e) {
            throw toDomain(e, what);
        }
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
    }

    /**
     * A gRPC failure of a call to a node's admin API as a domain error (this client is that edge;
     * the CSI services map it back with {@code GrpcErrors} at theirs). Transport failures
     * (UNAVAILABLE, DEADLINE_EXCEEDED) become UNAVAILABLE: a retry may succeed.
     */
    static BallastException toDomain(StatusRuntimeException e, String what) {
        ErrorCode code = switch (e.getStatus().getCode()) {
            case INVALID_ARGUMENT -> ErrorCode.INVALID_ARGUMENT;
            case OUT_OF_RANGE -> ErrorCode.OUT_OF_RANGE;
            case NOT_FOUND -> ErrorCode.NOT_FOUND;
            case ALREADY_EXISTS -> ErrorCode.ALREADY_EXISTS;
            case FAILED_PRECONDITION -> ErrorCode.FAILED_PRECONDITION;
            case RESOURCE_EXHAUSTED -> ErrorCode.NO_SPACE;
            case PERMISSION_DENIED -> ErrorCode.PERMISSION_DENIED;
            case UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, CANCELLED -> ErrorCode.UNAVAILABLE;
            default -> ErrorCode.INTERNAL;
        };
        String detail = e.getStatus().getDescription() != null ? e.getStatus().getDescription() : e.getStatus().getCode().name();
        return new BallastException(code, what + ": " + detail, e);
    }
}
