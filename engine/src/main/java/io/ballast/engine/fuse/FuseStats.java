package io.ballast.engine.fuse;

/**
 * Counters of one FUSE export since it started. {@code largestRead} / {@code largestWrite} are the
 * biggest single requests seen: what the kernel really sends, after its own caps.
 */
public record FuseStats(long requests, long reads, long bytesRead, long writes, long bytesWritten, long syncs,
                        long errors, int largestRead, int largestWrite, int peakInFlight) {
}
