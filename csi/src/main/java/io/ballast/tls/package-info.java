/**
 * TLS on the node's own ports outside Ratis: the admin API's servers and channels
 * ({@link io.ballast.tls.GrpcTls}), NBD over TCP and the metrics endpoint ({@link io.ballast.tls.ServerTls}), over the
 * certificates of {@link io.ballast.replication.tls.TlsMaterial}; the cluster's CA that issues
 * them is {@link io.ballast.replication.tls.ClusterCa}.
 */
package io.ballast.tls;
