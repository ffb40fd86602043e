/**
 * Mutual TLS on Ballast's gRPC ports: the cluster's own certificate authority (creating it and
 * issuing node, controller and CLI certificates in the layout every Ballast process reads,
 * {@link io.ballast.replication.tls.TlsDir}, for clusters without cert-manager), and the TLS
 * servers and channels of the admin API ({@link io.ballast.tls.GrpcTls}).
 */
package io.ballast.tls;
