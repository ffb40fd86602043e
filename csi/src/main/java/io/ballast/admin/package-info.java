/**
 * The node's admin gRPC API (create, attach, snapshot, add or remove replicas, status) over the
 * node's volumes; errors leave through {@link io.ballast.csi.GrpcErrors}, the same mapping the
 * CSI services use.
 */
package io.ballast.admin;
