package io.ballast.engine.error;

/**
 * Ballast's one domain error vocabulary. Every layer raises {@link BallastException} with one of
 * these codes; each edge translates them exactly once (NBD error numbers in the NBD server, gRPC
 * status codes in {@code csi}, Ratis exceptions in {@code replication}).
 */
public enum ErrorCode {
    /** A request field is missing or malformed (bad offset alignment, negative length, ...). */
    INVALID_ARGUMENT,
    /** An offset or length lies outside the volume, or a size is not allowed. */
    OUT_OF_RANGE,
    /** The volume, export, snapshot or node does not exist. */
    NOT_FOUND,
    /** Something with that name exists with different parameters. */
    ALREADY_EXISTS,
    /** The object is in a state that forbids the operation (closed, read-only, shrinking, ...). */
    FAILED_PRECONDITION,
    /** The local disk is full. */
    NO_SPACE,
    /** Stored data failed its checksum: never returned as data. */
    CORRUPTION,
    /** The operating system reported an I/O error. */
    IO_ERROR,
    /** A data directory or file is not ours, or has a format we do not understand. */
    FOREIGN_FORMAT,
    /** The caller's identity may not do this (a node not admitted, a node's certificate where an operator's is needed). */
    PERMISSION_DENIED,
    /** The service is shutting down or has no quorum; a retry may succeed. */
    UNAVAILABLE,
    /** A bug: an invariant did not hold. */
    INTERNAL
}
