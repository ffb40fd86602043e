package io.ballast.cluster;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.NodeAdminGrpc;
import io.ballast.replication.tls.TlsMaterial;
import io.ballast.tls.GrpcTls;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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

    /**
     * Runs {@code calls} (each one or more {@link #call}s to a node) at once, on virtual threads,
     * and returns when all are done. For work each node does on its own: a node removes a replica
     * in about a second (Ratis closes the group's log worker on a 1 s poll), so a volume's three
     * took three seconds one after another. The first failure is thrown, the others suppressed
     * in it; every call has run to its end by then.
     */
    public static void allAtOnce(List<Runnable> calls) {
        List<Future<?>> running = new ArrayList<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            calls.forEach(c -> running.add(threads.submit(c)));
        } // close() waits for every call
        RuntimeException first = null;
        for (Future<?> f : running) {
            try {
                f.get();
            } catch (ExecutionException e) {
                RuntimeException failure = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                if (first == null) {
                    first = failure;
                } else {
                    first.addSuppressed(failure);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BallastException(ErrorCode.UNAVAILABLE, "interrupted while calling the nodes", e);
            }
        }
        if (first != null) {
            throw first;
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
