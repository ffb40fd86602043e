package io.ballast.engine.nbd;

import static io.ballast.engine.nbd.NbdConstants.*;

import io.ballast.engine.volume.BlockVolume;

/**
 * Decides, from a request header alone, whether the request may run. Pure and cheap; runs on the
 * event loop before any payload is read, so a rejected WRITE's payload is skipped, never buffered.
 *
 * <p>Checks, in order (first failure wins), following the spec's "Error values" section:
 * unknown command -> EINVAL; WRITE/READ longer than the max payload -> EINVAL (a WRITE is also
 * fatal, see {@link #isOversizedWrite}); a flag not documented for the command (including
 * NBD_CMD_FLAG_FAST_ZERO and DF, which we do not advertise) -> EINVAL; writing command on a
 * read-only export -> EPERM; FLUSH with nonzero offset/length -> EINVAL; offset + length wrapping
 * 2^64 -> EINVAL; range beyond the end -> ENOSPC for WRITE/WRITE_ZEROES, EINVAL for READ/TRIM.
 */
final class RequestValidator {
    private final BlockVolume volume;
    private final boolean readOnly;
    private final int maxPayload;

    RequestValidator(BlockVolume volume, boolean readOnly, int maxPayload) {
        this.volume = volume;
        this.readOnly = readOnly;
        this.maxPayload = maxPayload;
    }

    /** A WRITE whose payload we refuse to read: reply EINVAL and disconnect (the spec allows it). */
    boolean isOversizedWrite(int type, long length) {
        return type == CMD_WRITE && length > maxPayload;
    }

    /** Returns 0 when the request may run, else the NBD error to reply. */
    int check(int flags, int type, long offset, long length) {
        int allowedFlags;
        switch (type) {
            case CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM -> allowedFlags = CMD_FLAG_FUA;
            case CMD_WRITE_ZEROES -> allowedFlags = CMD_FLAG_FUA | CMD_FLAG_NO_HOLE;
            default -> {
                return EINVAL;
            }
        }
        if ((type == CMD_READ || type == CMD_WRITE) && length > maxPayload) {
            return EINVAL;
        }
        if ((flags & ~allowedFlags) != 0) {
            return EINVAL;
        }
        boolean writes = type == CMD_WRITE || type == CMD_TRIM || type == CMD_WRITE_ZEROES;
        if (writes && readOnly) {
            return EPERM;
        }
        if (type == CMD_DISC) {
            return 0;
        }
        if (type == CMD_FLUSH) {
            return offset == 0 && length == 0 ? 0 : EINVAL;
        }
        // offset is unsigned 64-bit: anything "negative" is beyond any volume; the end must not wrap.
        if (Long.compareUnsigned(offset, -1L - length) > 0) {
            return EINVAL;
        }
        long size = volume.size();
        if (offset < 0 || offset > size || length > size - offset) {
            return type == CMD_WRITE || type == CMD_WRITE_ZEROES ? ENOSPC : EINVAL;
        }
        return 0;
    }
}
