package io.ballast.node.admin;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * The one place where Ballast's domain errors become gRPC status codes (STYLE.md: translate once
 * at each edge). The message is kept: it is written for a person.
 */
public final class GrpcErrors {
    private GrpcErrors() {
    }

    public static Status.Code codeOf(ErrorCode code) {
        return switch (code) {
            case INVALID_ARGUMENT -> Status.Code.INVALID_ARGUMENT;
            case OUT_OF_RANGE -> Status.Code.OUT_OF_RANGE;
            case NOT_FOUND -> Status.Code.NOT_FOUND;
            case ALREADY_EXISTS -> Status.Code.ALREADY_EXISTS;
            case FAILED_PRECONDITION, FOREIGN_FORMAT -> Status.Code.FAILED_PRECONDITION;
            case NO_SPACE -> Status.Code.RESOURCE_EXHAUSTED;
            case UNAVAILABLE -> Status.Code.UNAVAILABLE;
            case CORRUPTION, IO_ERROR, INTERNAL -> Status.Code.INTERNAL;
        };
    }

    /** Any failure as a gRPC error: domain errors by code, anything else INTERNAL. */
    public static StatusRuntimeException toStatus(Throwable t) {
        if (t instanceof StatusRuntimeException sre) {
            return sre;
        }
        BallastException be = BallastException.of(t);
        return Status.fromCode(codeOf(be.code())).withDescription(be.getMessage()).withCause(t).asRuntimeException();
    }

    /**
     * A gRPC failure of a call to another Ballast process as a domain error, for callers that
     * re-map it at their own edge (the controller calling node admin APIs). Transport failures
     * (UNAVAILABLE, DEADLINE_EXCEEDED) become UNAVAILABLE: a retry may succeed.
     */
    public static BallastException toDomain(io.grpc.StatusRuntimeException e, String what) {
        ErrorCode code = switch (e.getStatus().getCode()) {
            case INVALID_ARGUMENT -> ErrorCode.INVALID_ARGUMENT;
            case OUT_OF_RANGE -> ErrorCode.OUT_OF_RANGE;
            case NOT_FOUND -> ErrorCode.NOT_FOUND;
            case ALREADY_EXISTS -> ErrorCode.ALREADY_EXISTS;
            case FAILED_PRECONDITION -> ErrorCode.FAILED_PRECONDITION;
            case RESOURCE_EXHAUSTED -> ErrorCode.NO_SPACE;
            case UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, CANCELLED -> ErrorCode.UNAVAILABLE;
            default -> ErrorCode.INTERNAL;
        };
        String detail = e.getStatus().getDescription() != null ? e.getStatus().getDescription() : e.getStatus().getCode().name();
        return new BallastException(code, what + ": " + detail, e);
    }
}
