package io.ballast.csi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.csi.GrpcErrors;
import io.grpc.Status;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class GrpcErrorsTest {
    @Test
    void everyDomainCodeHasAGrpcCode() {
        for (ErrorCode c : ErrorCode.values()) {
            GrpcErrors.codeOf(c); // exhaustive switch: a new code without a mapping does not compile
        }
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, GrpcErrors.codeOf(ErrorCode.NO_SPACE));
        assertEquals(Status.Code.INTERNAL, GrpcErrors.codeOf(ErrorCode.CORRUPTION));
    }

    @Test
    void wrappedDomainErrorsKeepCodeAndMessage() {
        var e = GrpcErrors.toStatus(new CompletionException(new BallastException(ErrorCode.NOT_FOUND, "volume x not found")));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        assertEquals("volume x not found", e.getStatus().getDescription());
        assertEquals(Status.Code.INTERNAL, GrpcErrors.toStatus(new IllegalStateException("bug")).getStatus().getCode());
    }
}
