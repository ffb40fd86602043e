package io.ballast.engine.nbd;

import java.util.Map;

/**
 * A snapshot of NBD counters, for one connection or summed over a server.
 *
 * @param requests      transmission requests received (including rejected ones)
 * @param bytesRead     bytes returned to clients by successful READs
 * @param bytesWritten  bytes written by successful WRITEs
 * @param errorsByErrno error replies sent, by NBD error value
 */
public record NbdStats(long requests, long bytesRead, long bytesWritten, Map<Integer, Long> errorsByErrno) {
    public NbdStats {
        errorsByErrno = Map.copyOf(errorsByErrno);
    }

    public long errors() {
        return errorsByErrno.values().stream().mapToLong(Long::longValue).sum();
    }
}
