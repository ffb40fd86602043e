/**
 * Mutual TLS for Ballast's network ports: the certificate files a process presents and trusts
 * ({@link io.ballast.replication.tls.TlsDir}, the layout cert-manager writes), and their use by
 * Ratis ({@link io.ballast.replication.tls.RaftTls}).
 */
package io.ballast.replication.tls;
