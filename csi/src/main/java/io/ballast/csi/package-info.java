/**
 * CSI Identity, Controller and Node services: the one place where domain errors
 * ({@link io.ballast.engine.error.ErrorCode}) become gRPC status codes, through
 * {@link io.ballast.node.admin.GrpcErrors} applied by {@link io.ballast.csi.CsiCalls}.
 * This package holds what the services share: capability rules ({@link io.ballast.csi.VolumeCapabilities})
 * and the topology translation ({@link io.ballast.csi.Topologies}). Subpackages: {@code identity},
 * {@code controller} (over {@link io.ballast.csi.controller.ClusterBackend}), {@code server} (the
 * unix-socket gRPC server and its call log).
 */
package io.ballast.csi;
