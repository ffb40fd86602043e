package io.ballast.cli;

/**
 * A command that cannot go on, with the message a person needs (what failed, which address was
 * tried, what to check) and the exit code: 2 when the cluster could not be reached or found,
 * 1 for an error the cluster reported. {@link BallastMain} prints it without a stack trace.
 */
final class CliFailure extends RuntimeException {
    static final int UNREACHABLE = 2;
    private final int exitCode;

    CliFailure(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    int exitCode() {
        return exitCode;
    }
}
