package io.ballast.engine.fuse;

import static io.ballast.engine.sys.Errno.EFBIG;
import static io.ballast.engine.sys.Errno.EINVAL;
import static io.ballast.engine.sys.Errno.EIO;
import static io.ballast.engine.sys.Errno.ENOSPC;

import static io.ballast.engine.fuse.FuseConstants.*;

import io.ballast.engine.error.BallastException;

/**
 * The one place where Ballast's domain errors become errno values in FUSE replies. Whatever we
 * answer, the loop driver turns a failed request into BLK_STS_IOERR for the filesystem above,
 * so the choice matters for logs and for direct users of the file.
 *
 * <table>
 * <caption>ErrorCode to errno</caption>
 * <tr><td>CORRUPTION, IO_ERROR, FAILED_PRECONDITION, UNAVAILABLE, anything else</td><td>EIO</td></tr>
 * <tr><td>OUT_OF_RANGE</td><td>EFBIG for WRITE (beyond the fixed-size file), else EINVAL</td></tr>
 * <tr><td>INVALID_ARGUMENT</td><td>EINVAL</td></tr>
 * <tr><td>NO_SPACE</td><td>ENOSPC</td></tr>
 * </table>
 */
final class FuseErrors {
    private FuseErrors() {
    }

    static int errnoOf(Throwable failure, int opcode) {
        BallastException e = BallastException.of(failure);
        return switch (e.code()) {
            case OUT_OF_RANGE -> opcode == WRITE ? EFBIG : EINVAL;
            case INVALID_ARGUMENT -> EINVAL;
            case NO_SPACE -> ENOSPC;
            default -> EIO;
        };
    }
}
