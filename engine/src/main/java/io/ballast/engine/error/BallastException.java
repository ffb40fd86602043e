package io.ballast.engine.error;

import java.util.Objects;

/**
 * The single exception type of Ballast's domain. Carries an {@link ErrorCode} that edges map to
 * their protocol's errors, and a message a person can act on.
 */
public final class BallastException extends RuntimeException {
    private final ErrorCode code;

    public BallastException(ErrorCode code, String message) {
        super(message);
        this.code = Objects.requireNonNull(code);
    }

    public BallastException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = Objects.requireNonNull(code);
    }

    public ErrorCode code() {
        return code;
    }

    /** Unwraps completion/execution wrappers to find a BallastException, or wraps as INTERNAL. */
    public static BallastException of(Throwable t) {
        Throwable cur = t;
        while (cur != null) {
            if (cur instanceof BallastException be) {
                return be;
            }
            cur = cur.getCause();
        }
        return new BallastException(ErrorCode.INTERNAL, String.valueOf(t), t);
    }

    @Override
    public String toString() {
        return code + ": " + getMessage();
    }
}
