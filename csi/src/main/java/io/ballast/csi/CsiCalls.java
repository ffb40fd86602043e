package io.ballast.csi;

import io.ballast.engine.error.BallastException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the body of a unary CSI handler and completes the call: the reply on success, otherwise the
 * failure translated by {@link GrpcErrors} (domain code kept, anything unexpected INTERNAL).
 * Handlers throw; they never call {@code onError} themselves, so every error goes through the one
 * mapping. Each call is logged by the server's interceptor, not here; only unexpected exceptions
 * (bugs) are logged here, because only here is the stack trace still at hand.
 *
 * <p>Thread-safe (stateless).
 */
public final class CsiCalls {
    private static final Logger LOG = LoggerFactory.getLogger(CsiCalls.class);

    private CsiCalls() {
    }

    public static <T> void unary(StreamObserver<T> out, Supplier<T> body) {
        T reply;
        try {
            reply = body.get();
        } catch (RuntimeException e) {
            StatusRuntimeException status = GrpcErrors.toStatus(e);
            if (!(e instanceof BallastException) && !(e instanceof StatusRuntimeException)) {
                LOG.warn("unexpected failure, answered INTERNAL", e);
            }
            out.onError(status);
            return;
        }
        out.onNext(reply);
        out.onCompleted();
    }

    /** ABORTED: retry-safe refusal (busy key, stale page token); not a domain error, so built here. */
    public static StatusRuntimeException aborted(String message) {
        return Status.ABORTED.withDescription(message).asRuntimeException();
    }

    /** UNIMPLEMENTED: an RPC whose capability the plugin does not advertise. */
    public static StatusRuntimeException unimplemented(String message) {
        return Status.UNIMPLEMENTED.withDescription(message).asRuntimeException();
    }
}
