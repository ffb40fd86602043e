package io.ballast.csi;

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
            case PERMISSION_DENIED -> Status.Code.PERMISSION_DENIED;
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
}
