package io.ballast.engine.nbd;

import static io.ballast.engine.nbd.NbdConstants.*;

import io.ballast.engine.error.BallastException;

/**
 * The one place where Ballast's domain errors become NBD error values.
 *
 * <table>
 * <caption>ErrorCode to NBD error</caption>
 * <tr><td>CORRUPTION, IO_ERROR</td><td>EIO</td></tr>
 * <tr><td>OUT_OF_RANGE</td><td>ENOSPC for WRITE / WRITE_ZEROES (spec: write beyond the end), else EINVAL</td></tr>
 * <tr><td>INVALID_ARGUMENT</td><td>EINVAL</td></tr>
 * <tr><td>NO_SPACE</td><td>ENOSPC</td></tr>
 * <tr><td>UNAVAILABLE</td><td>ESHUTDOWN: shutting down or no quorum; a later retry (reconnect) may work</td></tr>
 * <tr><td>FAILED_PRECONDITION</td><td>EIO: closed, fenced or otherwise refused for good; not retryable</td></tr>
 * <tr><td>anything else (NOT_FOUND, INTERNAL, non-Ballast exceptions, ...)</td><td>EIO</td></tr>
 * </table>
 * Read-only exports are refused before reaching the volume, with EPERM ({@link RequestValidator}).
 */
public final class NbdErrors {
    private NbdErrors() {
    }

    /** The NBD error value to reply when {@code command} failed with {@code failure}. */
    public static int errnoOf(Throwable failure, int command) {
        BallastException e = BallastException.of(failure);
        return switch (e.code()) {
            case CORRUPTION, IO_ERROR -> EIO;
            case OUT_OF_RANGE -> command == CMD_WRITE || command == CMD_WRITE_ZEROES ? ENOSPC : EINVAL;
            case INVALID_ARGUMENT -> EINVAL;
            case NO_SPACE -> ENOSPC;
            case UNAVAILABLE -> ESHUTDOWN;
            case FAILED_PRECONDITION -> EIO;
            default -> EIO;
        };
    }

    /** Symbolic name of an NBD error value, for logs and metrics labels. */
    public static String name(int errno) {
        return switch (errno) {
            case 0 -> "OK";
            case EPERM -> "EPERM";
            case EIO -> "EIO";
            case ENOMEM -> "ENOMEM";
            case EINVAL -> "EINVAL";
            case ENOSPC -> "ENOSPC";
            case EOVERFLOW -> "EOVERFLOW";
            case ENOTSUP -> "ENOTSUP";
            case ESHUTDOWN -> "ESHUTDOWN";
            default -> "E" + errno;
        };
    }
}
