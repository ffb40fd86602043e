/**
 * CSI Identity, Controller and Node services: the one place where domain errors
 * ({@link io.ballast.engine.error.ErrorCode}) become gRPC status codes.
 */
package io.ballast.csi;
