/**
 * CSI Identity, Controller and Node services: the one place where domain errors
 * ({@link io.ballast.engine.error.ErrorCode}) become gRPC status codes, through
 * {@link io.ballast.csi.GrpcErrors} applied by {@link io.ballast.csi.CsiCalls}.
 * This package holds what the services share: capability rules ({@link io.ballast.csi.VolumeCapabilities}),
 * the topology translation ({@link io.ballast.csi.Topologies}), mkfs options, and the per-volume
 * in-flight set that answers ABORTED ({@link io.ballast.csi.InFlight}). Subpackages: {@code identity},
 * {@code node} (stage/publish over a {@code VolumeDevices} seam), {@code controller} (over {@link io.ballast.cluster.ClusterBackend}), {@code server} (the
 * unix-socket gRPC server and its call log).
 */
package io.ballast.csi;
