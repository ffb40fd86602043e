/**
 * The cluster logic behind the CSI controller, in domain terms (no CSI types): the backend contract
 * the CSI services call ({@link io.ballast.cluster.ClusterBackend}, with its error contract), its
 * catalog-backed implementation, replica placement across nodes and zones, the repair loop that
 * re-places replicas of nodes that stay down, user snapshots, and the clients of the nodes' admin
 * APIs (where their gRPC failures become domain errors again). Depends on {@code replication.catalog},
 * never on {@code csi}.
 */
package io.ballast.cluster;
